// The OpenTelemetry bootstrap (@app/observability/tracing). Imported by the API's entry file before
// anything else, so http, express and mysql2 are instrumented when they are first required. It
// imports OpenTelemetry only; spans elsewhere in the code use @opentelemetry/api, which is a
// no-op until this has run.
import { redactQuery, SECRET_QUERY_PARAMS, type TracingConfig } from '@app/config/tracing';
import { diag, DiagConsoleLogger, DiagLogLevel } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { NodeSDK, tracing } from '@opentelemetry/sdk-node';

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
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.test(req.url ?? ''),
        startIncomingSpanHook: (req) => spanQueryAttributes(req.url),
        // The service calls no HTTP APIs; the exporter's own calls are never traced anyway.
        disableOutgoingRequestInstrumentation: true,
      }),
      // The route handler's span; one per middleware (and Nest's catch-all "/{*path}" layers that
      // carry the global middleware) would cost more than it tells.
      new ExpressInstrumentation({
        ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER],
        ignoreLayers: [/\{\*path\}/],
      }),
      new MySQL2Instrumentation(),
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
