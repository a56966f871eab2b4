/**
 * Tracing settings, from the standard OpenTelemetry variables. Kept apart from the rest of the
 * configuration (and free of framework imports) because it is read by the entry file that starts
 * the OpenTelemetry SDK before Nest, express, mysql2 and pino are loaded.
 */
export const TRACE_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
/** The OTEL_* variables the service reads (validated by tracingConfigProblems). */
export const TRACING_VARIABLES = [
  'OTEL_SDK_DISABLED',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_SERVICE_NAME',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
] as const;

export type TraceSampler = (typeof TRACE_SAMPLERS)[number];

export interface TracingConfig {
  /** False when OTEL_SDK_DISABLED=true or no OTLP endpoint is set: no SDK is started at all. */
  enabled: boolean;
  /** Full URL spans are POSTed to (OTLP/HTTP, JSON), e.g. http://jaeger:4318/v1/traces. */
  tracesUrl?: string;
  serviceName: string;
  sampler: TraceSampler;
  /** Ratio for the *traceidratio samplers, 0..1. */
  samplerRatio: number;
}

type RawEnv = Record<string, string | undefined>;

const isUrl = (v: string): boolean => /^https?:\/\/[^\s/]+/.test(v);

/** Validates the OTEL_* variables; returns the problems as `NAME=value: expectation` lines. */
export function tracingConfigProblems(raw: RawEnv): string[] {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const v = raw[name]?.trim();
    return v ? v : undefined;
  };
  const disabled = value('OTEL_SDK_DISABLED');
  if (disabled !== undefined && !['true', 'false'].includes(disabled.toLowerCase())) {
    problems.push(`OTEL_SDK_DISABLED=${JSON.stringify(disabled)}: must be true or false`);
  }
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
    const v = value(name);
    if (v !== undefined && !isUrl(v)) {
      problems.push(`${name}=${JSON.stringify(v)}: must be an http(s) URL like http://jaeger:4318`);
    }
  }
  const sampler = value('OTEL_TRACES_SAMPLER');
  if (sampler !== undefined && !(TRACE_SAMPLERS as readonly string[]).includes(sampler)) {
    problems.push(
      `OTEL_TRACES_SAMPLER=${JSON.stringify(sampler)}: must be one of ${TRACE_SAMPLERS.join(', ')}`,
    );
  }
  const ratio = value('OTEL_TRACES_SAMPLER_ARG');
  if (ratio !== undefined) {
    const n = Number(ratio);
    if (!Number.isFinite(n) || n < 0 || n > 1) {
      problems.push(
        `OTEL_TRACES_SAMPLER_ARG=${JSON.stringify(ratio)}: must be a number from 0 to 1`,
      );
    }
  }
  return problems;
}

/** The tracing settings; call tracingConfigProblems first (loadConfig does) to reject bad values. */
export function loadTracingConfig(raw: RawEnv): TracingConfig {
  const value = (name: string): string | undefined => raw[name]?.trim() || undefined;
  const base = value('OTEL_EXPORTER_OTLP_ENDPOINT');
  const tracesUrl =
    value('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ??
    (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  const disabled = value('OTEL_SDK_DISABLED')?.toLowerCase() === 'true';
  const sampler = (value('OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on') as TraceSampler;
  const ratio = Number(value('OTEL_TRACES_SAMPLER_ARG') ?? '1');
  return {
    enabled: !disabled && tracesUrl !== undefined,
    tracesUrl,
    serviceName: value('OTEL_SERVICE_NAME') ?? 'historical-data-api',
    sampler,
    samplerRatio: Number.isFinite(ratio) ? Math.min(1, Math.max(0, ratio)) : 1,
  };
}
