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
import type { NextFunction, Request, Response } from 'express';
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
  private readonly shed = {
    in_flight: httpRequestsShedTotal.labels('in_flight'),
    event_loop_lag: httpRequestsShedTotal.labels('event_loop_lag'),
  };

  constructor(private readonly limits: AppConfig['http']['overload']) {
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

  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const reason = this.reasonToShed(requestsInFlight());
    if (reason === undefined || isInfrastructurePath(req.path)) return next();
    this.shed[reason].inc();
    const detail =
      reason === 'in_flight'
        ? `The server is serving more than ${this.limits.maxInFlight} requests; retry in a second.`
        : `The server is saturated (event loop ${Math.round(this.lagMs)} ms behind); retry in a second.`;
    this.warning.warn(`shedding load (${reason}): ${detail}`);
    // The first middleware: the request id (the client's, when safe) is assigned here.
    const requestId = assignRequestId(req, res);
    // Route "shed", not "unmatched": the availability SLI leaves unknown routes out, not these.
    recordRequest(req.method, 'shed', ERROR_STATUS.OVERLOADED, 0);
    res.statusCode = ERROR_STATUS.OVERLOADED;
    res.setHeader('Retry-After', '1');
    res.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
    // The client is told to back off: it reconnects to retry, which paces a client that ignores
    // Retry-After instead of letting it spin on a kept-alive connection.
    res.setHeader('Connection', 'close');
    res.end(
      JSON.stringify({
        type: problemTypeFor('OVERLOADED'),
        title: titleFor('OVERLOADED'),
        status: ERROR_STATUS.OVERLOADED,
        detail,
        // As every problem: a key sent in the query string never comes back.
        instance: redactUrl(req.originalUrl),
        code: 'OVERLOADED',
        requestId,
      }),
    );
  };
}
