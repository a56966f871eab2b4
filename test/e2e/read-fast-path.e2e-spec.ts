import request from 'supertest';
import { ListFastPath } from '../../apps/api/src/historical-data/list-fast-path';
import { mysqlBaseUrl } from '../setup/mysql-test-db';
import { logLines } from './support/log-lines';
import { bar, Dialect, TestApp } from './support/test-app';

const READ = 'reader-key-0123456789';
const WRITE = 'writer-key-0123456789';
const KEYS = `app:${READ}:read,etl:${WRITE}:write`;
const ORIGIN = 'https://app.example';

/** What a client sees of an answer: status, body bytes and headers (minus what varies by time). */
interface Seen {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** The request's completion log line, minus timings. */
  log?: Record<string, unknown>;
  /** Whether the fast path answered it. */
  fast?: boolean;
}

/** Headers that differ between two identical answers given at different moments. */
const VOLATILE = new Set(['date', 'x-ratelimit-reset', 'retry-after']);

interface Step {
  name: string;
  path: string;
  headers?: Record<string, string>;
  /** The ETag of the previous step's answer is sent as If-None-Match. */
  ifNoneMatchPrevious?: boolean;
  /** A JSON body sent with the GET. */
  body?: string;
  /** Not the fast path's to answer (Express and Nest answer it in both modes). */
  viaNest?: boolean;
}

async function ask(
  app: TestApp,
  step: Step,
  logs: Record<string, unknown>[],
  previous?: Seen,
): Promise<Seen> {
  // serve() is private: reached by name to see which path answered.
  const served = jest.spyOn(
    ListFastPath.prototype as unknown as { serve: () => Promise<void> },
    'serve',
  );
  const logged = logs.length;
  let req = request(app.app.getHttpServer())
    .get(step.path)
    // A fixed id: the answers (problems included) carry it, so both paths must echo it alike.
    .set('X-Request-Id', `parity-${step.name.replace(/\W+/g, '-')}`)
    .buffer(true)
    .parse((res, done) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => done(null, text));
    });
  for (const [name, value] of Object.entries(step.headers ?? {})) req = req.set(name, value);
  if (step.body !== undefined) req = req.set('Content-Type', 'application/json').send(step.body);
  if (step.ifNoneMatchPrevious && previous?.headers.etag) {
    req = req.set('If-None-Match', previous.headers.etag);
  }
  const res = await req;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers as Record<string, string>)) {
    if (!VOLATILE.has(name)) headers[name] = value;
  }
  const fast = served.mock.calls.length > 0;
  served.mockRestore();
  // pino writes the completion line when the response finishes: by now.
  const line = logs.slice(logged).find((l) => l.msg === 'request completed');
  const log = line && { ...line, time: 0, responseTime: 0, duration_ms: 0 };
  return { status: res.status, body: res.body as string, headers, log, fast };
}

/** The same requests, in the same order, to a fresh app with and without the fast path. */
async function both(
  dialect: Dialect,
  overrides: Record<string, string>,
  steps: Step[],
): Promise<{ fast: Seen[]; nest: Seen[] }> {
  const seen: Record<'fast' | 'nest', Seen[]> = { fast: [], nest: [] };
  for (const mode of ['fast', 'nest'] as const) {
    const app = new TestApp(dialect, {
      ...overrides,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      READ_FAST_PATH: mode === 'fast' ? 'true' : 'false',
    });
    const { lines: logs, destination } = logLines();
    await app.start({}, { log: { destination } });
    try {
      await app.truncate();
      const bars = Array.from({ length: 40 }, (_, i) =>
        bar({
          date: `2024-02-${String((i % 28) + 1).padStart(2, '0')}`,
          symbol: i < 28 ? 'AAPL' : 'MSFT',
        }),
      );
      await app.http.post('/api/v1/data').set('X-API-Key', WRITE).send(bars).expect(200);
      for (const step of steps) seen[mode].push(await ask(app, step, logs, seen[mode].at(-1)));
    } finally {
      await app.stop();
    }
  }
  return seen;
}

const OPEN_STEPS: Step[] = [
  { name: 'ok', path: '/api/v1/data?symbol=AAPL&limit=5' },
  { name: 'cache hit', path: '/api/v1/data?symbol=AAPL&limit=5' },
  { name: 'not modified', path: '/api/v1/data?symbol=AAPL&limit=5', ifNoneMatchPrevious: true },
  { name: 'params reordered', path: '/api/v1/data?limit=5&symbol=aapl' },
  { name: 'no filter', path: '/api/v1/data' },
  { name: 'gzip', path: '/api/v1/data?limit=50', headers: { 'Accept-Encoding': 'gzip' } },
  { name: 'unknown symbol', path: '/api/v1/data?symbol=NOPE' },
  { name: 'two symbols', path: '/api/v1/data?symbols=MSFT,AAPL&sort=desc&page=2&limit=7' },
  { name: 'cursor', path: '/api/v1/data?symbol=AAPL&limit=3&cursor=bm90LWEtY3Vyc29y' },
  { name: 'bad limit', path: '/api/v1/data?limit=abc' },
  { name: 'bad dates', path: '/api/v1/data?start_date=2024-13-01&end_date=x' },
  { name: 'unknown parameter', path: '/api/v1/data?colour=red' },
  { name: 'csv', path: '/api/v1/data?symbol=MSFT', headers: { Accept: 'text/csv' } },
  { name: 'not acceptable', path: '/api/v1/data', headers: { Accept: 'image/png' } },
  { name: 'key in query', path: '/api/v1/data?apiKey=abc' },
  { name: 'invalid key', path: '/api/v1/data', headers: { 'X-API-Key': 'not-a-key-000000' } },
  { name: 'with key', path: '/api/v1/data?symbol=MSFT', headers: { 'X-API-Key': READ } },
  { name: 'trailing slash', path: '/api/v1/data/?symbol=MSFT', viaNest: true },
  { name: 'other case', path: '/API/V1/Data?symbol=MSFT', viaNest: true },
  { name: 'with a body', path: '/api/v1/data?symbol=MSFT', body: '{}', viaNest: true },
];

const CORS_STEPS: Step[] = [
  { name: 'allowed origin', path: '/api/v1/data?symbol=AAPL', headers: { Origin: ORIGIN } },
  { name: 'other origin', path: '/api/v1/data?symbol=AAPL', headers: { Origin: 'https://x.test' } },
  { name: 'no origin', path: '/api/v1/data?symbol=MSFT' },
  { name: 'refused', path: '/api/v1/data?limit=0', headers: { Origin: ORIGIN } },
];

const AUTH_STEPS: Step[] = [
  { name: 'anonymous', path: '/api/v1/data?symbol=AAPL' },
  { name: 'invalid key', path: '/api/v1/data', headers: { 'X-API-Key': 'not-a-key-000000' } },
  {
    name: 'bearer',
    path: '/api/v1/data?symbol=AAPL',
    headers: { Authorization: `Bearer ${READ}` },
  },
  { name: 'read key', path: '/api/v1/data?symbol=AAPL', headers: { 'X-API-Key': READ } },
];

const RATE_STEPS: Step[] = [
  { name: 'first', path: '/api/v1/data?symbol=AAPL' },
  { name: 'second', path: '/api/v1/data?symbol=MSFT' },
  { name: 'third', path: '/api/v1/data?limit=abc' },
  { name: 'limited', path: '/api/v1/data?symbol=AAPL' },
  { name: 'limited again', path: '/api/v1/data' },
  { name: 'keyed budget', path: '/api/v1/data?symbol=AAPL', headers: { 'X-API-Key': READ } },
];

/**
 * The read fast path (READ_FAST_PATH, on by default) answers GET /api/v1/data exactly as Nest's
 * route does: the same status, the same bytes and the same headers a client sees, for answers and
 * for every kind of refusal, with the cache on and off.
 */
for (const dialect of ['sqlite', 'mysql'] as const) {
  const enabled = dialect === 'sqlite' || mysqlBaseUrl() !== undefined;
  (enabled ? describe : describe.skip)(
    `read fast path and Nest route give the same answers [${dialect}]`,
    () => {
      const expectSame = ({ fast, nest }: { fast: Seen[]; nest: Seen[] }, steps: Step[]) => {
        steps.forEach((step, i) => {
          // Same status, bytes, headers and log line; only the way through differs.
          const { fast: nestWasFast, ...nestSeen } = nest[i];
          const { fast: fastWasFast, ...fastSeen } = fast[i];
          expect({ step: step.name, ...fastSeen }).toEqual({ step: step.name, ...nestSeen });
          expect(fastSeen.log).toMatchObject({ route: '/api/v1/data', status: fastSeen.status });
          expect(nestWasFast).toBe(false);
          // Another spelling of the path, or a body, is not the fast path's: Nest answers it.
          expect(fastWasFast).toBe(!step.viaNest);
        });
      };

      it('no keys, cache on: answers, 304, 400s, 406, 401s, CSV and gzip', async () => {
        const seen = await both(dialect, { API_KEYS: KEYS, CACHE_ENABLED: 'true' }, OPEN_STEPS);
        expectSame(seen, OPEN_STEPS);
        const statuses = seen.fast.map((s) => s.status);
        expect(statuses).toEqual([
          200, 200, 304, 200, 200, 200, 200, 200, 400, 400, 400, 400, 200, 406, 401, 401, 200, 200,
          200, 200,
        ]);
        expect(seen.fast[5].headers['content-encoding']).toBe('gzip');
      }, 60_000);

      it('cache off: the same answers', async () => {
        const seen = await both(dialect, { API_KEYS: KEYS, CACHE_ENABLED: 'false' }, OPEN_STEPS);
        expectSame(seen, OPEN_STEPS);
      }, 60_000);

      it('AUTH_READS=true: 401 without a key, 200 with one', async () => {
        const seen = await both(dialect, { API_KEYS: KEYS, AUTH_READS: 'true' }, AUTH_STEPS);
        expectSame(seen, AUTH_STEPS);
        expect(seen.fast.map((s) => s.status)).toEqual([401, 401, 200, 200]);
      }, 60_000);

      it('CORS on: the same Access-Control headers, on answers and refusals', async () => {
        const seen = await both(dialect, { API_KEYS: KEYS, CORS_ORIGINS: ORIGIN }, CORS_STEPS);
        expectSame(seen, CORS_STEPS);
        expect(seen.fast.map((s) => s.status)).toEqual([200, 200, 200, 400]);
        expect(seen.fast[0].headers['access-control-allow-origin']).toBe(ORIGIN);
        expect(seen.fast[3].headers['access-control-expose-headers']).toContain('X-Request-Id');
      }, 60_000);

      it('rate limits on: the same X-RateLimit headers, then 429 RATE_LIMITED', async () => {
        const seen = await both(
          dialect,
          {
            API_KEYS: KEYS,
            RATE_LIMIT_ENABLED: 'true',
            RATE_LIMIT_ANONYMOUS: '3',
            RATE_LIMIT_KEYED: '100',
          },
          RATE_STEPS,
        );
        expectSame(seen, RATE_STEPS);
        expect(seen.fast.map((s) => s.status)).toEqual([200, 200, 400, 429, 429, 200]);
        expect(seen.fast[0].headers['x-ratelimit-remaining']).toBe('2');
      }, 60_000);
    },
  );
}
