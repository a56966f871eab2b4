import { loadConfig } from './app-config';
import { loadTracingConfig, TRACE_SAMPLERS, tracingConfigProblems } from './tracing-config';

describe('tracing configuration (standard OTEL_* variables)', () => {
  it('is off without an endpoint, and off when OTEL_SDK_DISABLED=true even with one', () => {
    expect(loadTracingConfig({}).enabled).toBe(false);
    expect(
      loadTracingConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
        OTEL_SDK_DISABLED: 'TRUE',
      }).enabled,
    ).toBe(false);
  });

  it('sends to <endpoint>/v1/traces, or to the traces endpoint as given', () => {
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318/' })).toMatchObject(
      { enabled: true, tracesUrl: 'http://jaeger:4318/v1/traces' },
    );
    expect(
      loadTracingConfig({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/traces',
      }).tracesUrl,
    ).toBe('http://b:9999/traces');
  });

  it('defaults to parentbased_always_on, ratio 1, service historical-data-api', () => {
    expect(loadTracingConfig({})).toMatchObject({
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      serviceName: 'historical-data-api',
    });
    expect(
      loadTracingConfig({
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
        OTEL_SERVICE_NAME: 'hd-staging',
      }),
    ).toMatchObject({
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.25,
      serviceName: 'hd-staging',
    });
  });

  it('names each malformed variable, and loadConfig refuses them', () => {
    const bad = {
      OTEL_SDK_DISABLED: 'maybe',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'jaeger:4318',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '2',
    };
    const problems = tracingConfigProblems(bad);
    expect(problems.map((p) => p.split('=')[0])).toEqual(Object.keys(bad));
    expect(() => loadConfig(bad)).toThrow(/OTEL_TRACES_SAMPLER_ARG="2"/);
    for (const sampler of TRACE_SAMPLERS) {
      expect(tracingConfigProblems({ OTEL_TRACES_SAMPLER: sampler })).toEqual([]);
    }
  });
});
