// Loaded first by main.ts (its first import), before Nest, express, mysql2 and pino are required:
// OpenTelemetry can only instrument modules loaded after it starts.
import { loadTracingConfig, processEnvironment, tracingConfigProblems } from '@app/config/tracing';
import { startTracing, Tracing } from '@app/observability/tracing';

const env = processEnvironment();
/** The running SDK, or undefined when tracing is off; main.ts flushes it on shutdown. */
export const tracing: Tracing | undefined =
  // Bad OTEL_* values are reported (and stop startup) by the configuration check in main.ts.
  tracingConfigProblems(env).length === 0 ? startTracing(loadTracingConfig(env)) : undefined;
