import { OtlpReceiver } from './support/otlp-receiver';
import { ServerProcess } from './support/server-process';
import { trickledUpload } from './support/trickled-upload';
import { mysqlBaseUrl, workerDatabaseUrl } from '../setup/mysql-test-db';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN_ID = 'b7ad6b7169203331';
const KEY_TRACE_ID = '1bf7651916cd43dd8448eb211c80319d';
const QUERY_KEY = 'vendor-habit-key-0123456789';
const CSV =
  'symbol,date,open,high,low,close,volume\nTRC,2024-01-02,1,2,1,1.5,10\nTRC,2024-01-03,1,2,1,1.5,10\n';

/**
 * The built server in its own process, as an operator runs it: the tracing entry file loaded
 * first, spans exported over OTLP/HTTP, trace ids in the log lines, real SIGTERM handling.
 */
describe('server process: tracing', () => {
  const receiver = new OtlpReceiver();
  const server = new ServerProcess();
  let exitCode: number | null;

  beforeAll(async () => {
    const endpoint = await receiver.start();
    await server.start({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_SERVICE_NAME: 'hd-e2e',
    });
    const get = await fetch(`${server.url}/api/v1/data?symbol=TRC`, {
      headers: {
        traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`,
        'X-Request-Id': 'trace-get',
        Authorization: 'Bearer must-not-be-logged',
      },
    });
    expect(get.status).toBe(200);
    const keyInQuery = await fetch(`${server.url}/api/v1/data?symbol=TRC&apiKey=${QUERY_KEY}`, {
      headers: { traceparent: `00-${KEY_TRACE_ID}-${PARENT_SPAN_ID}-01` },
    });
    expect(keyInQuery.status).toBe(401);
    const upload = await fetch(`${server.url}/api/v1/data/upload`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/csv', 'X-Request-Id': 'trace-upload' },
      body: CSV,
    });
    expect(upload.status).toBe(200);
    await fetch(`${server.url}/health/ready`);
    // SIGTERM: the buffered spans are flushed before the process exits.
    exitCode = await server.terminate();
  }, 90_000);
  afterAll(async () => {
    server.kill();
    await receiver.stop();
  });

  it('exits 0 on SIGTERM after exporting the spans to <endpoint>/v1/traces', () => {
    expect(exitCode).toBe(0);
    expect(new Set(receiver.paths)).toEqual(new Set(['/v1/traces']));
    expect(receiver.spans.every((s) => s.service === 'hd-e2e')).toBe(true);
  });

  it('continues the caller’s W3C trace: the server span has the traceparent’s trace and parent', () => {
    const serverSpan = receiver.spans.find(
      (s) => s.traceId === TRACE_ID && s.scope === '@opentelemetry/instrumentation-http',
    );
    expect(serverSpan).toMatchObject({
      name: 'GET /api/v1/data',
      parentSpanId: PARENT_SPAN_ID,
      attributes: { 'http.route': '/api/v1/data', 'http.response.status_code': 200 },
    });
    // The route names the server span; no span per Express layer.
    const inTrace = receiver.spans.filter((s) => s.traceId === TRACE_ID).map((s) => s.scope);
    expect(inTrace).not.toContain('@opentelemetry/instrumentation-express');
  });

  it('records a span per ingest batch with its row counts, inside the upload’s trace', () => {
    const batch = receiver.spans.find((s) => s.name === 'ingest.batch');
    expect(batch).toMatchObject({
      attributes: { 'ingest.rows': 2, 'ingest.inserted': 2, 'ingest.updated': 0 },
    });
    const uploadSpan = receiver.spans.find((s) => s.name === 'POST /api/v1/data/upload');
    expect(uploadSpan?.traceId).toBe(batch?.traceId);
  });

  it('records a key sent in the query string redacted in the span, and nowhere else', () => {
    const serverSpan = receiver.spans.find(
      (s) => s.traceId === KEY_TRACE_ID && s.scope === '@opentelemetry/instrumentation-http',
    );
    expect(serverSpan).toMatchObject({
      attributes: { 'url.query': 'symbol=TRC&apiKey=REDACTED', 'http.response.status_code': 401 },
    });
    expect(JSON.stringify(receiver.spans)).not.toContain(QUERY_KEY);
    expect(JSON.stringify(server.lines)).not.toContain(QUERY_KEY);
  });

  it('does not trace probes and scrapes', () => {
    expect(receiver.spans.find((s) => String(s.name).includes('/health'))).toBeUndefined();
  });

  it('writes trace_id and span_id on the request line, the ids of the exported trace', () => {
    const line = server.lines.find(
      (l) => l.msg === 'request completed' && l.requestId === 'trace-get',
    );
    expect(line).toMatchObject({
      trace_id: TRACE_ID,
      span_id: expect.stringMatching(/^[0-9a-f]{16}$/),
      method: 'GET',
      route: '/api/v1/data',
      status: 200,
      duration_ms: expect.any(Number),
    });
    const spanIds = receiver.spans.filter((s) => s.traceId === TRACE_ID).map((s) => s.spanId);
    expect(spanIds).toContain(line!.span_id);
    expect(JSON.stringify(server.lines)).not.toContain('must-not-be-logged');
    expect(server.lines.some((l) => String(l.msg).includes('tracing to http://127.0.0.1'))).toBe(
      true,
    );
  });
});

/**
 * Roots left out by the ratio sampler (ratio 0): bodyless reads take the lean path (tracing
 * suppressed, request and response not bound), an upload the stock one. Neither may leave a span
 * anywhere, not even of its queries (on MariaDB, mysql2's instrumentation), nor a trace id on its
 * log line; a request whose caller sampled it is traced whole.
 */
describe(`server process: roots left out by the sampler [${mysqlBaseUrl() ? 'mysql' : 'sqlite'}]`, () => {
  const receiver = new OtlpReceiver();
  const server = new ServerProcess();
  const SAMPLED_TRACE_ID = '2cf7651916cd43dd8448eb211c80319e';

  beforeAll(async () => {
    const endpoint = await receiver.start();
    await server.start({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0',
      ...(mysqlBaseUrl() ? { DATABASE_URL: await workerDatabaseUrl('tracing') } : {}),
    });
    const upload = await fetch(`${server.url}/api/v1/data/upload`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/csv', 'X-Request-Id': 'unsampled-upload' },
      body: CSV,
    });
    expect(upload.status).toBe(200);
    for (let i = 0; i < 5; i++) {
      const get = await fetch(`${server.url}/api/v1/data?symbol=TRC&limit=${i + 1}`, {
        headers: { 'X-Request-Id': `unsampled-get-${i}` },
      });
      expect(get.status).toBe(200);
    }
    // An export the client leaves after its first bytes: the cursor is stopped from the
    // response's 'close' (KILL QUERY on MariaDB).
    const controller = new AbortController();
    const exported = await fetch(`${server.url}/api/v1/data/export?symbols=TRC`, {
      headers: { 'X-Request-Id': 'unsampled-export' },
      signal: controller.signal,
    });
    expect(exported.status).toBe(200);
    controller.abort();
    const sampled = await fetch(`${server.url}/api/v1/data?symbol=TRC`, {
      headers: {
        traceparent: `00-${SAMPLED_TRACE_ID}-${PARENT_SPAN_ID}-01`,
        'X-Request-Id': 'sampled-get',
      },
    });
    expect(sampled.status).toBe(200);
    expect(await server.terminate()).toBe(0);
  }, 90_000);
  afterAll(async () => {
    server.kill();
    await receiver.stop();
  });

  it('exports the sampled request’s spans and nothing else', () => {
    expect(receiver.spans.length).toBeGreaterThan(0);
    expect(receiver.spans.filter((s) => s.traceId !== SAMPLED_TRACE_ID)).toEqual([]);
    const scopes = new Set(receiver.spans.map((s) => s.scope));
    expect(scopes).toContain('@opentelemetry/instrumentation-http');
    if (mysqlBaseUrl()) expect(scopes).toContain('@opentelemetry/instrumentation-mysql2');
  });

  it('writes no trace id on the lines of requests left out, and the sampled one’s on its own', () => {
    const lines = server.lines.filter((l) => l.msg === 'request completed');
    const left = lines.filter((l) => String(l.requestId).startsWith('unsampled-'));
    expect(left.map((l) => l.requestId).sort()).toEqual([
      'unsampled-export',
      'unsampled-get-0',
      'unsampled-get-1',
      'unsampled-get-2',
      'unsampled-get-3',
      'unsampled-get-4',
      'unsampled-upload',
    ]);
    expect(left.filter((l) => l.trace_id !== undefined)).toEqual([]);
    expect(lines.find((l) => l.requestId === 'sampled-get')).toMatchObject({
      trace_id: SAMPLED_TRACE_ID,
    });
  });
});

describe('server process: tracing off', () => {
  it('starts no SDK when OTEL_SDK_DISABLED=true, even with an endpoint: nothing is exported', async () => {
    const receiver = new OtlpReceiver();
    const server = new ServerProcess();
    try {
      const endpoint = await receiver.start();
      await server.start({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' });
      expect((await fetch(`${server.url}/api/v1/data?symbol=X`)).status).toBe(200);
      expect(await server.terminate()).toBe(0);
      expect(receiver.spans).toEqual([]);
      const line = server.lines.find((l) => l.msg === 'request completed');
      expect(line).toBeDefined();
      expect(line).not.toHaveProperty('trace_id');
      expect(server.lines.some((l) => String(l.msg).includes('tracing off'))).toBe(true);
    } finally {
      server.kill();
      await receiver.stop();
    }
  });

  it('refuses to start on a malformed OTEL_* value, naming it', async () => {
    const server = new ServerProcess();
    await expect(server.start({ OTEL_TRACES_SAMPLER_ARG: 'lots' })).rejects.toThrow(
      /OTEL_TRACES_SAMPLER_ARG=\\"lots\\": must be a number from 0 to 1/,
    );
    expect(await server.exited).toBe(1);
    // LOG_FORMAT=json: the line is a log line like the others.
    expect(JSON.parse(server.stderr)).toMatchObject({
      level: 60,
      msg: 'Invalid configuration: OTEL_TRACES_SAMPLER_ARG="lots": must be a number from 0 to 1',
    });
    server.kill();
  });
});

describe('server process: SIGTERM', () => {
  it('lets the slow request finish, answers readiness 503 meanwhile, and exits 0', async () => {
    const server = new ServerProcess();
    try {
      await server.start({ SHUTDOWN_GRACE_MS: '10000' });
      const slow = trickledUpload(server.url, {
        first: 'symbol,date,open,high,low,close,volume\nSLOW,2024-01-02,1,2,1,1.5,10\n',
        rest: 'SLOW,2024-01-03,1,2,1,1.5,10\n',
        afterMs: 1500,
      });
      // SIGTERM only once the upload is being served (a loaded machine may take a while to get
      // it there): the gauge counts it and the scrape that reads it.
      for (let i = 0; i < 100; i++) {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        if (Number(/^http_requests_in_flight (\d+)/m.exec(text)?.[1] ?? 0) >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      server.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      const ready = await fetch(`${server.url}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.headers.get('content-type')).toContain('application/problem+json');
      const answer = await slow;
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ status: 'completed', inserted: 2 });
      expect(await server.exited).toBe(0);
      const messages = server.lines.map((l) => l.msg);
      expect(messages).toEqual(expect.arrayContaining(['received SIGTERM', 'shutdown complete']));
    } finally {
      server.kill();
    }
  });
});
