// The OpenTelemetry bootstrap (@app/observability/tracing). Imported by the API's entry file before
// anything else, so http, express and mysql2 are instrumented when they are first required. It
// imports OpenTelemetry only; spans elsewhere in the code use @opentelemetry/api, which is a
// no-op until this has run.
import { redactQuery, SECRET_QUERY_PARAMS, type TracingConfig } from '@app/config/tracing';
import { context, diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';
import type { IncomingMessage } from 'node:http';
import { routeTemplate } from './route-template';

/** Requests that are not worth a trace: probes and scrapes, every few seconds, all day. */
const UNTRACED_PATHS = /^\/(health(\/|$|\?)|metrics(\?|$)|favicon\.ico)/;

/**
 * Query parameters whose values never reach a span: API keys sent by habit (refused with 401, but
 * the server span records the URL first) and the signatures OpenTelemetry redacts by default. The
 * instrumentation's own list is case-sensitive; `?APIKEY=` must not slip through.
 */
const REDACTED_IN_SPANS = [
  ...SECRET_QUERY_PARAMS,
  'sig',
  'signature',
  'awsaccesskeyid',
  'x-goog-signature',
];

/** `url.query` of a server span, redacted; overrides the instrumentation's. */
export function spanQueryAttributes(url: string | undefined): Record<string, string> {
  const at = url?.indexOf('?') ?? -1;
  if (url === undefined || at < 0) return {};
  return { 'url.query': redactQuery(url.slice(at + 1), REDACTED_IN_SPANS) };
}

export function samplerFor(config: TracingConfig): tracing.Sampler {
  const ratio = new tracing.TraceIdRatioBasedSampler(config.samplerRatio);
  switch (config.sampler) {
    case 'always_on':
      return new tracing.AlwaysOnSampler();
    case 'always_off':
      return new tracing.AlwaysOffSampler();
    case 'traceidratio':
      return ratio;
    case 'parentbased_always_off':
      return new tracing.ParentBasedSampler({ root: new tracing.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new tracing.ParentBasedSampler({ root: ratio });
    case 'parentbased_always_on':
      return new tracing.ParentBasedSampler({ root: new tracing.AlwaysOnSampler() });
  }
}

/**
 * With a ratio sampler, whether a request that starts a trace (no traceparent) is left out,
 * decided before the instrumentation builds a span and its attributes: a request left out runs
 * with tracing suppressed, so neither it nor its database queries cost a span. Requests that
 * carry a traceparent go through the configured sampler (parent-based: the caller decides).
 */
export function unsampledRoot(
  config: TracingConfig,
  random: () => number = Math.random,
): (req: IncomingMessage) => boolean {
  const ratioSampler =
    config.sampler === 'traceidratio' || config.sampler === 'parentbased_traceidratio';
  if (!ratioSampler || config.samplerRatio >= 1) return () => false;
  return (req) => req.headers.traceparent === undefined && random() >= config.samplerRatio;
}

/** The server span named by the Nest route ("GET /api/v1/data/:id"), as the route is known at its end. */
export function nameServerSpan(
  span: { updateName(name: string): unknown; setAttribute(key: string, value: string): unknown },
  req: { method?: string; route?: unknown; baseUrl?: string },
): void {
  const route = routeTemplate(req);
  if (route === 'unmatched') return;
  span.updateName(`${req.method ?? 'GET'} ${route}`);
  span.setAttribute('http.route', route);
}

type EmitFn = (this: unknown, event: string | symbol, ...args: unknown[]) => boolean;
type IncomingRequestFunction = (component: string, original: EmitFn) => EmitFn;

/** A request with no body to read: its stream emits nothing but its end. */
const bodyless = (req: IncomingMessage): boolean =>
  (req.method === 'GET' || req.method === 'HEAD') &&
  req.headers['transfer-encoding'] === undefined &&
  req.headers['content-length'] === undefined;

/**
 * HttpInstrumentation, minus its cost for the reads it leaves out. For a request it does not trace
 * (`leaveOut`: a probe, or a root the ratio sampler leaves out), the stock instrumentation runs the
 * request with tracing suppressed and binds the request and the response to that context: it
 * replaces six listener methods on each (own properties, fresh closures every request), which
 * changes the shape of every request and response object the server handles: ~40-60 µs of CPU per
 * request left out (docs/ARCHITECTURE.md, "Performance budget"). A bodyless GET or HEAD left out
 * runs with tracing suppressed, unbound. Its handlers and everything they await run in that
 * context; its listeners may run in the connection's (a response's 'close' comes from the
 * socket), and none of them starts a span: the completion log line and metrics do not, the
 * shedder admits the next request in that request's own context, and a stopped export sends its
 * KILL QUERY in the context its cursor was opened in. Requests with a body (an upload's 'data'
 * drives its writes) and requests traced go through the stock code.
 */
export function httpInstrumentation(
  config: ConstructorParameters<typeof HttpInstrumentation>[0] & {
    ignoreIncomingRequestHook: (req: IncomingMessage) => boolean;
  },
): HttpInstrumentation {
  const leaveOut = config.ignoreIncomingRequestHook;
  // Decided once per request, here: the stock code asks its hook again (synchronously, first
  // thing), and a second draw of the ratio sampler would sample ratio² of the requests.
  let decided: boolean | undefined;
  const instrumentation = new HttpInstrumentation({
    ...config,
    enabled: false,
    ignoreIncomingRequestHook: (req) => {
      const leftOut = decided ?? leaveOut(req);
      decided = undefined;
      return leftOut;
    },
  });
  // A private method of the instrumentation (0.223): a spec fails if it is no longer there.
  const patchable = instrumentation as unknown as {
    _incomingRequestFunction: IncomingRequestFunction;
  };
  const stock = patchable._incomingRequestFunction.bind(instrumentation);
  patchable._incomingRequestFunction = (component, original) => {
    const traced = stock(component, original);
    return function incomingRequest(this: unknown, event, ...args) {
      if (event !== 'request') return original.call(this, event, ...args);
      const req = args[0] as IncomingMessage;
      const leftOut = leaveOut(req);
      if (leftOut && bodyless(req)) {
        return context.with(suppressTracing(context.active()), () =>
          original.call(this, event, ...args),
        );
      }
      decided = leftOut;
      try {
        return traced.call(this, event, ...args);
      } finally {
        decided = undefined;
      }
    };
  };
  return instrumentation;
}

type QueryFn = (this: unknown, ...args: unknown[]) => unknown;
type PatchQuery = (format: unknown, isPrepared: boolean) => (original: QueryFn) => QueryFn;

/**
 * MySQL2Instrumentation (statements masked: the SQL text with `?`, never the values), minus its
 * work for queries nobody traces. Inside a request the HTTP instrumentation left out (unsampled,
 * or a probe), tracing is suppressed, and the stock instrumentation would still build the span's
 * attributes, start a non-recording span and re-wrap the query's callback on every query (about
 * 17 µs of a request's CPU, docs/ARCHITECTURE.md "Performance budget"): those queries go to mysql2
 * as they are. Every other query is instrumented as before. Built disabled so the override is in
 * place before the SDK enables it (and patches mysql2).
 */
export function mysql2Instrumentation(): MySQL2Instrumentation {
  const instrumentation = new MySQL2Instrumentation({
    enabled: false,
    maskStatement: true,
    maskStatementHook: (sql) => sql,
  });
  // A private method of the instrumentation (0.69): a spec fails if it is no longer there.
  const patchable = instrumentation as unknown as { _patchQuery: PatchQuery };
  const patchQuery = patchable._patchQuery.bind(instrumentation);
  patchable._patchQuery = (format, isPrepared) => (original) => {
    const traced = patchQuery(format, isPrepared)(original);
    return function query(this: unknown, ...args: unknown[]): unknown {
      return isTracingSuppressed(context.active())
        ? original.apply(this, args)
        : traced.apply(this, args);
    };
  };
  return instrumentation;
}

export interface Tracing {
  /** Exports the spans still buffered and stops the SDK (on shutdown). */
  shutdown(): Promise<void>;
}

let running: NodeSDK | undefined;

/**
 * Starts the SDK when tracing is enabled (an OTLP endpoint is set and OTEL_SDK_DISABLED is not
 * true); otherwise does nothing, and every span in the code stays a no-op.
 */
export function startTracing(config: TracingConfig): Tracing | undefined {
  if (!config.enabled || running) return undefined;
  diag.setLogger(new DiagConsoleLogger(), DiagLogLevel.ERROR);
  const leaveOut = unsampledRoot(config);
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    sampler: samplerFor(config),
    spanProcessors: [
      // Larger batches than the defaults (512 of at most 2048 queued): a busy instance makes
      // thousands of spans a second, and fewer, bigger exports cost less than many small ones.
      new tracing.BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }), {
        scheduledDelayMillis: 1000,
        maxExportBatchSize: 2048,
        maxQueueSize: 16_384,
      }),
    ],
    // Traces only: metrics are Prometheus' job, logs go to stdout.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      httpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.test(req.url ?? '') || leaveOut(req),
        startIncomingSpanHook: (req) => spanQueryAttributes(req.url),
        applyCustomAttributesOnSpan: (span, req) => nameServerSpan(span, req),
        // The service calls no HTTP APIs; the exporter's own calls are never traced anyway.
        disableOutgoingRequestInstrumentation: true,
      }),
      // No Express instrumentation: a span per route handler (and patched middleware) cost more
      // than it told; the server span carries the Nest route instead (nameServerSpan).
      // Statements are sent with placeholders, never with values inlined, so the SQL text is the
      // masked statement as it stands: no formatting of values into it, no masking regexes.
      mysql2Instrumentation(),
    ],
  });
  sdk.start();
  running = sdk;
  return {
    shutdown: async () => {
      running = undefined;
      await sdk.shutdown();
    },
  };
}
