import type { NextFunction, Request, Response } from 'express';
import { routeTemplate } from './route-template';
import { collectDefaultMetrics, Counter, Gauge, Histogram, register } from 'prom-client';

export { routeTemplate };

/*
 * Every metric of the service, with the names and labels docs/OPERATIONS.md ("Metrics") lists as
 * fixed (dashboards and alerts depend on them). Defined once per process in the default registry, which GET /metrics serves.
 */

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'HTTP request duration by method, route template and status code',
  labelNames: ['method', 'route', 'status_code'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

export const httpRequestsTotal = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests by method, route template and status code',
  labelNames: ['method', 'route', 'status_code'] as const,
});

/** Requests being served (every request through the metrics middleware, recorded or not). */
let inFlight = 0;

export const httpRequestsInFlight = new Gauge({
  name: 'http_requests_in_flight',
  help: 'HTTP requests being served',
  // Read when scraped, from the count the metrics middleware keeps anyway: no gauge update per
  // request (docs/ARCHITECTURE.md, "Performance budget").
  collect() {
    this.set(inFlight);
  },
});

export const httpRequestsShedTotal = new Counter({
  name: 'http_requests_shed_total',
  help: 'Requests refused early with 503 OVERLOADED, by reason (in_flight, event_loop_lag)',
  labelNames: ['reason'] as const,
});

export const dbQueryDuration = new Histogram({
  name: 'db_query_duration_seconds',
  help: 'Database operation duration by operation',
  labelNames: ['operation'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
});

export const ingestRowsTotal = new Counter({
  name: 'ingest_rows_total',
  help: 'Rows ingested by source (csv, json, cli) and outcome (inserted, updated, skipped, failed)',
  labelNames: ['source', 'outcome'] as const,
});

export const ingestDuration = new Histogram({
  name: 'ingest_duration_seconds',
  help: 'Duration of one ingest (a JSON request, an upload, an import) by source',
  labelNames: ['source'] as const,
  buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600],
});

export const uploadsTotal = new Counter({
  name: 'uploads_total',
  help: 'Finished uploads and imports by status (completed, failed, interrupted)',
  labelNames: ['status'] as const,
});

export const dbRetriesTotal = new Counter({
  name: 'db_retries_total',
  help: 'Write transactions run again after a transient failure, by operation and reason (deadlock, race, connection)',
  labelNames: ['operation', 'reason'] as const,
});

export const cacheRequestsTotal = new Counter({
  name: 'cache_requests_total',
  help: 'Response cache look-ups by result (hit, miss)',
  labelNames: ['result'] as const,
});

export const rateLimitedRequestsTotal = new Counter({
  name: 'rate_limited_requests_total',
  help: 'Requests answered 429 by the rate limiter',
});

export type IngestSource = 'csv' | 'json' | 'cli';
export type IngestOutcome = 'inserted' | 'updated' | 'skipped' | 'failed';

// Every series a dashboard plots exists from the start (at 0), not only after its first event.
for (const source of ['csv', 'json', 'cli'] as const) {
  for (const outcome of ['inserted', 'updated', 'skipped', 'failed'] as const) {
    ingestRowsTotal.labels(source, outcome).inc(0);
  }
}
for (const status of ['completed', 'failed', 'interrupted']) uploadsTotal.labels(status).inc(0);
for (const reason of ['in_flight', 'event_loop_lag']) httpRequestsShedTotal.labels(reason).inc(0);
for (const result of ['hit', 'miss']) cacheRequestsTotal.labels(result).inc(0);

if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();

/**
 * Whether request and database timings are recorded (METRICS_ENABLED). Off only to measure what
 * recording costs (`npm run bench:overhead`); the in-flight count shutdown relies on is kept.
 */
let recording = true;
export function setMetricsRecording(enabled: boolean): void {
  recording = enabled;
}

/** db_query_duration_seconds' child per operation, looked up once (bounded: operation names). */
const dbSeries = new Map<string, ReturnType<typeof dbQueryDuration.labels>>();

/** Times a database operation into db_query_duration_seconds. */
export async function timeDb<T>(operation: string, work: () => Promise<T>): Promise<T> {
  if (!recording) return work();
  let series = dbSeries.get(operation);
  if (!series) dbSeries.set(operation, (series = dbQueryDuration.labels(operation)));
  const start = performance.now();
  try {
    return await work();
  } finally {
    series.observe((performance.now() - start) / 1000);
  }
}

export function countIngest(
  source: IngestSource,
  counts: Partial<Record<IngestOutcome, number>>,
): void {
  for (const [outcome, n] of Object.entries(counts)) {
    if (n) ingestRowsTotal.labels(source, outcome).inc(n);
  }
}

/**
 * Request metrics, labelled by the matched route template (never the raw URL, so label values stay
 * bounded); requests no route matched share the label "unmatched".
 */

/** Requests being served right now (the same count as http_requests_in_flight, synchronously). */
export function requestsInFlight(): number {
  return inFlight;
}

/** The children of the two request metrics for one label set, looked up once per label set. */
interface RequestSeries {
  duration: ReturnType<typeof httpRequestDuration.labels>;
  total: ReturnType<typeof httpRequestsTotal.labels>;
}
/** Bounded: label values are methods, route templates and status codes. */
const requestSeries = new Map<string, RequestSeries>();

function seriesOf(method: string, route: string, status: string): RequestSeries {
  const key = `${method} ${route} ${status}`;
  let series = requestSeries.get(key);
  if (!series) {
    series = {
      duration: httpRequestDuration.labels(method, route, status),
      total: httpRequestsTotal.labels(method, route, status),
    };
    requestSeries.set(key, series);
  }
  return series;
}

/** Records one answered request (for answers given before the metrics middleware, e.g. shed). */
export function recordRequest(
  method: string,
  route: string,
  status: number,
  seconds: number,
): void {
  if (!recording) return;
  const series = seriesOf(method, route, String(status));
  series.duration.observe(seconds);
  series.total.inc();
}

const COMPLETION_HOOK = Symbol('completionHook');
type Completable = { [COMPLETION_HOOK]?: (() => void) | null };

/**
 * Runs `hook` once when the response finishes or the connection closes first: from the metrics
 * middleware's own listeners when it watches this response (one pair of listeners per request),
 * else from listeners of its own. One hook per response.
 */
export function onRequestComplete(
  res: { once(event: 'finish' | 'close', listener: () => void): unknown },
  hook: () => void,
): void {
  const watched = res as Completable;
  if (watched[COMPLETION_HOOK] === null) {
    watched[COMPLETION_HOOK] = hook;
    return;
  }
  let done = false;
  const once = (): void => {
    if (done) return;
    done = true;
    hook();
  };
  res.once('finish', once);
  res.once('close', once);
}

export function httpMetricsMiddleware(req: Request, res: Response, next: NextFunction): void {
  const timed = recording;
  const start = timed ? performance.now() : 0;
  inFlight++;
  let done = false;
  const record = (): void => {
    if (done) return;
    done = true;
    inFlight--;
    (res as Completable)[COMPLETION_HOOK]?.();
    if (!timed) return;
    const series = seriesOf(req.method, routeTemplate(req), String(res.statusCode));
    series.duration.observe((performance.now() - start) / 1000);
    series.total.inc();
  };
  (res as Completable)[COMPLETION_HOOK] = null;
  res.once('finish', record);
  res.once('close', record);
  next();
}

/** Method decorator: times every call of a repository operation into db_query_duration_seconds. */
export function TimedDb(operation: string): MethodDecorator {
  return (_target, _key, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as (...args: unknown[]) => Promise<unknown>;
    descriptor.value = function (this: unknown, ...args: unknown[]) {
      return timeDb(operation, () => original.apply(this, args));
    };
  };
}
