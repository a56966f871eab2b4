import {
  bindToContext,
  assignRequestId,
  pathOf,
  putInFront,
  RequestListener,
  ERROR_STATUS,
  PROBLEM_CONTENT_TYPE,
  problemTypeFor,
  ThrottledWarning,
  titleFor,
} from '@app/common';
import { AppConfig, redactUrl } from '@app/config';
import { httpRequestsShedTotal, recordRequest } from '@app/observability';
import { Logger } from '@nestjs/common';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { isInfrastructurePath } from '../security/auth.guard';

/** How often the event loop's lag is sampled. */
const LAG_SAMPLE_MS = 100;

export type ShedReason = 'in_flight' | 'event_loop_lag';

/** A request waiting for one of the OVERLOAD_MAX_IN_FLIGHT places. */
interface Waiting {
  req: IncomingMessage;
  res: ServerResponse;
  app: RequestListener;
  since: number;
}

const gone = (w: Waiting): boolean => w.res.destroyed || w.req.socket.destroyed;

/** Requests waiting for a place, over every shedder of the process (shutdown waits for them). */
let waitingTotal = 0;

/** Requests admitted to no place yet: they still get an answer before the process may exit. */
export function requestsWaiting(): number {
  return waitingTotal;
}

/**
 * Admission control in front of the app, before any routing, parsing or database work. At most
 * OVERLOAD_MAX_IN_FLIGHT requests are served at once; the next ones wait, in arrival order, doing
 * no work, and are refused with 503 OVERLOADED + Retry-After once one has waited
 * OVERLOAD_MAX_QUEUE_WAIT_MS for a place (0: refused at once). While the event loop lags more than
 * OVERLOAD_MAX_EVENT_LOOP_LAG_MS (CPU saturated by something else), new requests are refused at
 * once. Health probes and scrapes are never held or refused. Refusals are counted in
 * http_requests_shed_total and logged once per 10 s.
 *
 * Why a queue rather than refusing the excess at once: a CPU-saturated process turns its event
 * loop a few times a second and accepts one new connection per turn (libuv ≥ 1.45), so most of
 * 1000 clients never reach it at all. Waiting requests cost nothing, so the turns stay short (the
 * work of about OVERLOAD_MAX_IN_FLIGHT requests), new connections are accepted, and a refusal is
 * sent only after the client has waited its share (docs/OPERATIONS.md, "Overload").
 */
export class LoadShedder {
  private lagMs = 0;
  private inFlight = 0;
  /** Arrival order; `head` is the next to admit (no Array#shift on a long queue). */
  private waiting: (Waiting | undefined)[] = [];
  private head = 0;
  private expiry?: NodeJS.Timeout;
  private readonly warning = new ThrottledWarning(new Logger('Overload'));
  private readonly refusals = {
    in_flight: httpRequestsShedTotal.labels('in_flight'),
    event_loop_lag: httpRequestsShedTotal.labels('event_loop_lag'),
  };

  /** The problem's members before `detail`, in the order every problem has them. */
  private readonly bodyStart = `{"type":${JSON.stringify(problemTypeFor('OVERLOADED'))},"title":${JSON.stringify(titleFor('OVERLOADED'))},"status":${ERROR_STATUS.OVERLOADED},"detail":`;
  private readonly inFlightDetail: string;

  constructor(private readonly limits: AppConfig['http']['overload']) {
    this.inFlightDetail =
      limits.maxQueueWaitMs > 0
        ? `The server is serving its maximum of ${limits.maxInFlight} requests and this one waited ${limits.maxQueueWaitMs} ms for a place; retry in a second.`
        : `The server is serving more than ${limits.maxInFlight} requests; retry in a second.`;
    if (limits.maxEventLoopLagMs > 0) {
      let expected = performance.now() + LAG_SAMPLE_MS;
      setInterval(() => {
        const now = performance.now();
        this.lagMs = Math.max(0, now - expected);
        expected = now + LAG_SAMPLE_MS;
      }, LAG_SAMPLE_MS).unref();
    }
  }

  /** Requests being served (admitted, not yet answered). */
  get serving(): number {
    return this.inFlight;
  }

  /** Requests waiting for a place. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  /** Puts the shedder in front of the server's other request listeners (Express's app). */
  guard(server: Server): void {
    putInFront(server, (req, res, app) => this.handle(req, res, app));
  }

  /** Serves `req` through `app` now, later, or refuses it (see the class comment). */
  handle(req: IncomingMessage, res: ServerResponse, app: RequestListener): void {
    if (isInfrastructurePath(pathOf(req.url ?? '/'))) return app(req, res);
    const { maxInFlight, maxEventLoopLagMs, maxQueueWaitMs } = this.limits;
    if (maxEventLoopLagMs > 0 && this.lagMs > maxEventLoopLagMs) {
      return this.refuse(req, res, 'event_loop_lag', true);
    }
    if (maxInFlight === 0 || this.inFlight < maxInFlight) return this.admit(req, res, app);
    if (maxQueueWaitMs === 0) return this.refuse(req, res, 'in_flight', true);
    // Served later from whatever frees a place (another request's end, a timer): bound to this
    // request's async context, so its trace (OpenTelemetry's context) and log store are its own.
    this.waiting.push({ req, res, app: bindToContext(app), since: performance.now() });
    waitingTotal++;
    this.expiry ??= setTimeout(() => this.expire(), maxQueueWaitMs);
  }

  private admit(req: IncomingMessage, res: ServerResponse, app: RequestListener): void {
    this.inFlight++;
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      this.inFlight--;
      this.next();
    };
    res.once('finish', release);
    res.once('close', release);
    app(req, res);
  }

  /** Gives a freed place to the longest-waiting request still there and still in time. */
  private next(): void {
    const deadline = performance.now() - this.limits.maxQueueWaitMs;
    while (this.head < this.waiting.length) {
      const w = this.take();
      // A client that gave up while waiting has left its place.
      if (gone(w)) continue;
      if (w.since < deadline) {
        this.refuse(w.req, w.res, 'in_flight', false);
        continue;
      }
      return this.admit(w.req, w.res, w.app);
    }
  }

  /** Refuses every request that has waited its bound; runs while requests wait. */
  private expire(): void {
    this.expiry = undefined;
    const deadline = performance.now() - this.limits.maxQueueWaitMs;
    while (this.head < this.waiting.length) {
      const w = this.waiting[this.head]!;
      if (w.since >= deadline) {
        this.expiry = setTimeout(() => this.expire(), w.since - deadline + 1);
        return;
      }
      this.take();
      if (!gone(w)) this.refuse(w.req, w.res, 'in_flight', false);
    }
  }

  private take(): Waiting {
    const w = this.waiting[this.head]!;
    this.waiting[this.head++] = undefined;
    waitingTotal--;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
      clearTimeout(this.expiry);
      this.expiry = undefined;
    } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    return w;
  }

  /**
   * 503 OVERLOADED problem+json with Retry-After, from precomputed parts. `close`: a request
   * refused without having waited also loses its connection — a client that ignores Retry-After
   * then pays a reconnect per retry (kept alive, wrk's clients re-asked at once: ~7,000 refusals/s
   * starved the admitted requests). One refused after waiting its bound keeps it: the wait already
   * paces it, and a reconnect would queue behind the accept queue again.
   */
  private refuse(
    req: IncomingMessage,
    res: ServerResponse,
    reason: ShedReason,
    close: boolean,
  ): void {
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
    if (close) res.setHeader('Connection', 'close');
    // As every problem; a key sent in the query string never comes back.
    res.end(
      `${this.bodyStart}${JSON.stringify(detail)},"instance":${JSON.stringify(redactUrl(req.url ?? '/'))},"code":"OVERLOADED","requestId":${JSON.stringify(requestId)}}`,
    );
  }
}
