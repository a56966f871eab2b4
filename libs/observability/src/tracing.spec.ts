import { TRACE_SAMPLERS, TracingConfig } from '@app/config/tracing';
import { ROOT_CONTEXT, SpanKind, trace, TraceFlags } from '@opentelemetry/api';
import { samplerFor, spanQueryAttributes, startTracing } from './tracing';

const config = (over: Partial<TracingConfig>): TracingConfig => ({
  enabled: true,
  tracesUrl: 'http://127.0.0.1:1/v1/traces',
  serviceName: 'test',
  sampler: 'parentbased_always_on',
  samplerRatio: 1,
  ...over,
});

const decide = (c: TracingConfig, parentSampled?: boolean): number => {
  const parent =
    parentSampled === undefined
      ? ROOT_CONTEXT
      : trace.setSpanContext(ROOT_CONTEXT, {
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
          traceFlags: parentSampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
          isRemote: true,
        });
  return samplerFor(c).shouldSample(
    parent,
    '0af7651916cd43dd8448eb211c80319c',
    'span',
    SpanKind.SERVER,
    {},
    [],
  ).decision;
};

describe('tracing bootstrap', () => {
  it('builds the sampler OTEL_TRACES_SAMPLER names', () => {
    const RECORD_AND_SAMPLED = 2;
    const NOT_RECORD = 0;
    expect(decide(config({ sampler: 'always_on' }))).toBe(RECORD_AND_SAMPLED);
    expect(decide(config({ sampler: 'always_off' }))).toBe(NOT_RECORD);
    expect(decide(config({ sampler: 'traceidratio', samplerRatio: 0 }))).toBe(NOT_RECORD);
    expect(decide(config({ sampler: 'traceidratio', samplerRatio: 1 }))).toBe(RECORD_AND_SAMPLED);
    // Parent-based: the caller's decision wins; roots follow the root sampler.
    expect(decide(config({ sampler: 'parentbased_always_off' }), true)).toBe(RECORD_AND_SAMPLED);
    expect(decide(config({ sampler: 'parentbased_always_off' }))).toBe(NOT_RECORD);
    expect(decide(config({ sampler: 'parentbased_always_on' }), false)).toBe(NOT_RECORD);
    expect(decide(config({ sampler: 'parentbased_traceidratio', samplerRatio: 0 }))).toBe(
      NOT_RECORD,
    );
    for (const sampler of TRACE_SAMPLERS) expect(samplerFor(config({ sampler }))).toBeDefined();
  });

  it('redacts keys sent in the query from url.query, whatever their case, and the default signatures', () => {
    expect(spanQueryAttributes('/api/v1/data?symbol=A&APIKEY=k1&Token=k2&sig=s&page=2')).toEqual({
      'url.query': 'symbol=A&APIKEY=REDACTED&Token=REDACTED&sig=REDACTED&page=2',
    });
    expect(spanQueryAttributes('/api/v1/data')).toEqual({});
  });

  it('starts nothing when tracing is disabled', () => {
    expect(startTracing(config({ enabled: false }))).toBeUndefined();
  });
});
