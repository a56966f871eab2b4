import { TRACE_SAMPLERS, TracingConfig } from '@app/config/tracing';
import {
  context,
  type Context,
  type ContextManager,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
} from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';
import type { IncomingMessage } from 'node:http';
import { EventEmitter } from 'node:events';
import {
  httpInstrumentation,
  mysql2Instrumentation,
  nameServerSpan,
  samplerFor,
  spanQueryAttributes,
  startTracing,
  unsampledRoot,
} from './tracing';

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

describe('deciding a root request before its span is built', () => {
  const req = (headers: Record<string, string> = {}) => ({ headers }) as unknown as IncomingMessage;

  it('leaves out about 1 - ratio of the requests that start a trace', () => {
    let x = 0;
    const random = () => (x = (x + 0.013) % 1);
    const leaveOut = unsampledRoot(
      config({ sampler: 'parentbased_traceidratio', samplerRatio: 0.1 }),
      random,
    );
    const left = Array.from({ length: 10_000 }, () => leaveOut(req())).filter(Boolean).length;
    expect(left / 10_000).toBeGreaterThan(0.88);
    expect(left / 10_000).toBeLessThan(0.92);
  });

  it('never leaves out a request that carries a traceparent, or any under an always-on sampler', () => {
    const ratio = unsampledRoot(
      config({ sampler: 'parentbased_traceidratio', samplerRatio: 0.1 }),
      () => 0.99,
    );
    expect(
      ratio(req({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })),
    ).toBe(false);
    expect(ratio(req())).toBe(true);
    expect(unsampledRoot(config({ sampler: 'parentbased_always_on' }), () => 0.99)(req())).toBe(
      false,
    );
    expect(
      unsampledRoot(config({ sampler: 'traceidratio', samplerRatio: 1 }), () => 0.99)(req()),
    ).toBe(false);
  });

  it('names the server span by the Nest route, and leaves unmatched requests alone', () => {
    const calls: string[] = [];
    const span = {
      updateName: (n: string) => calls.push(`name ${n}`),
      setAttribute: (k: string, v: string) => calls.push(`${k} ${v}`),
    };
    nameServerSpan(span, { method: 'GET', route: { path: '/:id' }, baseUrl: '/api/v1/data' });
    expect(calls).toEqual(['name GET /api/v1/data/:id', 'http.route /api/v1/data/:id']);
    nameServerSpan(span, { method: 'GET', route: { path: '/{*path}' } });
    expect(calls).toHaveLength(2);
  });
});

describe('mysql2 queries in requests left untraced', () => {
  type Query = (this: unknown, ...args: unknown[]) => unknown;
  const patched = () => {
    const instrumentation = mysql2Instrumentation();
    const internals = instrumentation as unknown as {
      _patchQuery: (format: unknown, isPrepared: boolean) => (original: Query) => Query;
      tracer: { startSpan: (...args: unknown[]) => unknown };
    };
    const startSpan = jest.spyOn(internals.tracer, 'startSpan');
    const original = jest.fn<unknown, unknown[]>(() => 'result');
    return { query: internals._patchQuery(undefined, false)(original), original, startSpan };
  };
  const connection = { config: { host: '127.0.0.1', port: 3306, database: 'hd', user: 'root' } };
  afterEach(() => jest.restoreAllMocks());

  it('go straight to mysql2 when tracing is suppressed: no span, the callback unwrapped', () => {
    const { query, original, startSpan } = patched();
    jest.spyOn(context, 'active').mockReturnValue(suppressTracing(ROOT_CONTEXT));
    const callback = jest.fn();
    expect(query.call(connection, 'SELECT ?', [1], callback)).toBe('result');
    expect(original).toHaveBeenCalledWith('SELECT ?', [1], callback);
    expect(original.mock.contexts[0]).toBe(connection);
    expect(startSpan).not.toHaveBeenCalled();
  });

  it('are instrumented as before otherwise: a span named for the statement, masked', () => {
    const { query, original, startSpan } = patched();
    const callback = jest.fn();
    expect(query.call(connection, 'SELECT ? FROM t', [1], callback)).toBe('result');
    expect(startSpan).toHaveBeenCalledTimes(1);
    const [name, options] = startSpan.mock.calls[0] as [string, { attributes: object }];
    expect(name).toBe('SELECT');
    expect(options.attributes).toMatchObject({ 'db.query.text': 'SELECT ? FROM t' });
    // The callback is wrapped (it ends the span), mysql2 still gets the statement and values.
    expect(original).toHaveBeenCalledWith('SELECT ? FROM t', [1], expect.any(Function));
    expect(original.mock.calls[0][2]).not.toBe(callback);
  });
});

describe('server requests left out of tracing', () => {
  type Emit = (this: unknown, event: string, ...args: unknown[]) => boolean;
  /** A context manager that runs `with` synchronously and records what gets bound. */
  let active: Context = ROOT_CONTEXT;
  const bound: unknown[] = [];
  const manager: ContextManager = {
    active: () => active,
    with: (ctx, fn, thisArg, ...args) => {
      const before = active;
      active = ctx;
      try {
        return fn.call(thisArg, ...args);
      } finally {
        active = before;
      }
    },
    bind: (_ctx, target) => {
      bound.push(target);
      return target;
    },
    enable: () => manager,
    disable: () => manager,
  };
  beforeAll(() => context.setGlobalContextManager(manager));
  afterAll(() => context.disable());
  beforeEach(() => (bound.length = 0));

  const request = (method: string, headers: Record<string, string> = {}) =>
    Object.assign(new EventEmitter(), { method, url: '/api/v1/data', headers, socket: {} });
  const patched = (leaveOut: (req: IncomingMessage) => boolean) => {
    const seen: { suppressed: boolean }[] = [];
    const original: Emit = jest.fn(function (this: unknown) {
      seen.push({ suppressed: isTracingSuppressed(context.active()) });
      return true;
    });
    const instrumentation = httpInstrumentation({ ignoreIncomingRequestHook: leaveOut });
    const internals = instrumentation as unknown as {
      _incomingRequestFunction: (component: string, original: Emit) => Emit;
    };
    return { emit: internals._incomingRequestFunction('http', original), original, seen };
  };

  it('a bodyless GET left out runs with tracing suppressed, its request and response unbound', () => {
    const { emit, original, seen } = patched(() => true);
    const [req, res] = [request('GET'), new EventEmitter()];
    expect(emit.call('server', 'request', req, res)).toBe(true);
    expect(original).toHaveBeenCalledWith('request', req, res);
    expect(seen).toEqual([{ suppressed: true }]);
    expect(bound).toEqual([]);
  });

  it('a request with a body left out goes through the stock code (request and response bound)', () => {
    const { emit, seen } = patched(() => true);
    const [req, res] = [request('POST', { 'content-length': '3' }), new EventEmitter()];
    emit.call('server', 'request', req, res);
    expect(seen).toEqual([{ suppressed: true }]);
    expect(bound).toEqual([req, res]);
    // A GET announcing a body too.
    emit.call('server', 'request', request('GET', { 'transfer-encoding': 'chunked' }), res);
    expect(bound).toHaveLength(4);
  });

  it('asks the sampler once per request, whichever way it goes', () => {
    const leaveOut = jest.fn(() => false);
    const { emit, seen } = patched(leaveOut);
    emit.call('server', 'request', request('GET'), new EventEmitter());
    emit.call('server', 'request', request('POST', { 'content-length': '3' }), new EventEmitter());
    expect(leaveOut).toHaveBeenCalledTimes(2);
    expect(seen).toEqual([{ suppressed: false }, { suppressed: false }]);
  });

  it('passes events other than requests straight through', () => {
    const leaveOut = jest.fn(() => true);
    const { emit, original } = patched(leaveOut);
    emit.call('server', 'connection', 'socket');
    expect(original).toHaveBeenCalledWith('connection', 'socket');
    expect(leaveOut).not.toHaveBeenCalled();
  });
});
