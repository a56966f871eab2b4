import {
  assignRequestId,
  ERROR_STATUS,
  PROBLEM_CONTENT_TYPE,
  problemTypeFor,
  ThrottledWarning,
  titleFor,
} from '@app/common';
import { AppConfig, redactUrl } from '@app/config';
import { httpRequestsShedTotal, recordRequest, requestsInFlight } from '@app/observability';
import { Logger } from '@nestjs/common';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isInfrastructurePath } from '../security/auth.guard';

/** How often the event loop's lag is sampled. */
const LAG_SAMPLE_MS = 100;

export type ShedReason = 'in_flight' | 'event_loop_lag';

/**
 * Refuses requests early, before any routing, parsing or database work, when the process is
 * already past what it can serve in time: more requests in flight than OVERLOAD_MAX_IN_FLIGHT
 * (they queue for the database pool), or an event loop lagging more than
 * OVERLOAD_MAX_EVENT_LOOP_LAG_MS (CPU saturated). A refused client gets 503 OVERLOADED with
 * Retry-After at once instead of waiting past its own timeout; health probes and scrapes are
 * never refused. Refusals are counted in http_requests_shed_total and logged once per 10 s.
 */
export class LoadShedder {
  private lagMs = 0;
  private readonly warning = new ThrottledWarning(new Logger('Overload'));
  private readonly refusals = {
    in_flight: httpRequestsShedTotal.labels('in_flight'),
    event_loop_lag: httpRequestsShedTotal.labels('event_loop_lag'),
  };

  /** The problem's members before `detail`, in the order every problem has them. */
  private readonly bodyStart = `{"type":${JSON.stringify(problemTypeFor('OVERLOADED'))},"title":${JSON.stringify(titleFor('OVERLOADED'))},"status":${ERROR_STATUS.OVERLOADED},"detail":`;
  private readonly inFlightDetail: string;

  constructor(
    private readonly limits: AppConfig['http']['overload'],
    /** Requests being served now (the metrics middleware's count; a stand-in in unit tests). */
    private readonly inFlight: () => number = requestsInFlight,
  ) {
    this.inFlightDetail = `The server is serving more than ${limits.maxInFlight} requests; retry in a second.`;
    if (limits.maxEventLoopLagMs > 0) {
      let expected = performance.now() + LAG_SAMPLE_MS;
      setInterval(() => {
        const now = performance.now();
        this.lagMs = Math.max(0, now - expected);
        expected = now + LAG_SAMPLE_MS;
      }, LAG_SAMPLE_MS).unref();
    }
  }

  /** Why a new request would be refused now, or undefined (`inFlight`: requests already running). */
  reasonToShed(inFlight: number): ShedReason | undefined {
    const { maxInFlight, maxEventLoopLagMs } = this.limits;
    if (maxInFlight > 0 && inFlight >= maxInFlight) return 'in_flight';
    if (maxEventLoopLagMs > 0 && this.lagMs > maxEventLoopLagMs) return 'event_loop_lag';
    return undefined;
  }

  /**
   * Answers `req` with 503 OVERLOADED when the process is past its bounds (never a probe or a
   * scrape); true when it did. Runs on the bare node:http request, before Express: a refusal costs
   * Node's parsing and one write, nothing more.
   */
  shed(req: IncomingMessage, res: ServerResponse): boolean {
    const reason = this.reasonToShed(this.inFlight());
    if (reason === undefined) return false;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    if (isInfrastructurePath(query < 0 ? url : url.slice(0, query))) return false;
    this.refusals[reason].inc();
    const detail =
      reason === 'in_flight'
        ? this.inFlightDetail
        : `The server is saturated (event loop ${Math.round(this.lagMs)} ms behind); retry in a second.`;
    this.warning.warn(`shedding load (${reason}): ${detail}`);
    const requestId = assignRequestId(req, res);
    // Route "shed", not "unmatched": the availability SLI leaves unknown routes out, not these.
    recordRequest(req.method ?? 'GET', 'shed', ERROR_STATUS.OVERLOADED, 0);
    res.statusCode = ERROR_STATUS.OVERLOADED;
    res.setHeader('Retry-After', '1');
    res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
    // The client is told to back off: it reconnects to retry, which paces a client that ignores
    // Retry-After. Measured at 1000 connections (docs/ARCHITECTURE.md, "Performance budget"):
    // kept alive, wrk's clients re-asked at once and the refusals (~7,000/s) took the CPU the
    // admitted requests needed (served 100-150/s instead of ~450/s).
    res.setHeader('Connection', 'close');
    // As every problem; a key sent in the query string never comes back.
    res.end(
      `${this.bodyStart}${JSON.stringify(detail)},"instance":${JSON.stringify(redactUrl(url))},"code":"OVERLOADED","requestId":${JSON.stringify(requestId)}}`,
    );
    return true;
  }

  /** Puts the shedder in front of the server's other request listeners (Express's app). */
  guard(server: Server): void {
    const listeners = server.listeners('request') as ((...args: unknown[]) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (this.shed(req, res)) return;
      for (const listener of listeners) listener.call(server, req, res);
    });
  }
}
