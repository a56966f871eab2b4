import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithRedis, uniqueRedisPrefix } from '../setup/redis-test';
import { bar, describeEachDialect, TestApp } from './support/test-app';

const CSV = (close: number) =>
  `symbol,date,open,high,low,close,volume\nAAPL,2024-01-02,187.15,188.44,183.89,${close},1\n`;

function metric(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/**
 * The response cache never shows old data: a read right after each kind of write sees the write.
 * ETag/If-None-Match gives 304s.
 */
describeEachDialect('response cache and ETags', (t) => {
  const closeOf = async (): Promise<number> =>
    (await t.http.get('/api/v1/data?symbol=AAPL').expect(200)).body.data[0].close as number;
  const closeById = async (id: number): Promise<number> =>
    (await t.http.get(`/api/v1/data/${id}`).expect(200)).body.close as number;

  it('serves repeated reads from the cache (cache_requests_total) and stays fresh after every kind of write', async () => {
    await t.http
      .post('/api/v1/data')
      .send([bar(), bar({ symbol: 'MSFT' })])
      .expect(200);
    const before = (await t.http.get('/metrics')).text;
    expect(await closeOf()).toBe(185.64);
    expect(await closeOf()).toBe(185.64);
    const after = (await t.http.get('/metrics')).text;
    expect(metric(after, 'cache_requests_total{result="hit"}')).toBeGreaterThan(
      metric(before, 'cache_requests_total{result="hit"}'),
    );
    const id = (await t.http.get('/api/v1/data?symbol=AAPL')).body.data[0].id as number;
    expect(await closeById(id)).toBe(185.64);
    const all = async () =>
      (await t.http.get('/api/v1/data').expect(200)).body.pagination.total as number;
    expect(await all()).toBe(2);

    // JSON upsert
    await t.http
      .post('/api/v1/data')
      .send([bar({ close: 186 })])
      .expect(200);
    expect(await closeOf()).toBe(186);
    expect(await closeById(id)).toBe(186);
    // CSV upload
    await t.http
      .post('/api/v1/data/upload')
      .set('Content-Type', 'text/csv')
      .send(CSV(186.5))
      .expect(200);
    expect(await closeOf()).toBe(186.5);
    expect(await closeById(id)).toBe(186.5);
    // PATCH and PUT
    await t.http.patch(`/api/v1/data/${id}`).send({ close: 187 }).expect(200);
    expect(await closeOf()).toBe(187);
    expect(await closeById(id)).toBe(187);
    await t.http
      .put(`/api/v1/data/${id}`)
      .send(bar({ close: 187.5 }))
      .expect(200);
    expect(await closeOf()).toBe(187.5);
    // A write to another symbol leaves AAPL's entries valid, and lists of all symbols fresh.
    await t.http
      .post('/api/v1/data')
      .send([bar({ symbol: 'NVDA' })])
      .expect(200);
    expect(await all()).toBe(3);
    // DELETE one, then delete by filter
    await t.http.delete(`/api/v1/data/${id}`).expect(204);
    await t.http.get(`/api/v1/data/${id}`).expect(404);
    expect((await t.http.get('/api/v1/data?symbol=AAPL')).body.data).toEqual([]);
    expect(await all()).toBe(2);
    await t.http.delete('/api/v1/data?start_date=2024-01-01').expect(200);
    expect(await all()).toBe(0);
    expect((await t.http.get('/api/v1/data?symbol=MSFT')).body.data).toEqual([]);
  });

  it('keeps the body it sent: a hit answers the same bytes and the same ETag as the miss that stored it', async () => {
    await t.http
      .post('/api/v1/data')
      .send([bar(), bar({ date: '2024-01-03', adjClose: 185.1 })])
      .expect(200);
    const before = (await t.http.get('/metrics')).text;
    const miss = await t.http.get('/api/v1/data?symbol=AAPL&limit=5').expect(200);
    const hit = await t.http.get('/api/v1/data?limit=5&symbol=AAPL').expect(200);
    const after = (await t.http.get('/metrics')).text;
    expect(metric(after, 'cache_requests_total{result="hit"}')).toBe(
      metric(before, 'cache_requests_total{result="hit"}') + 1,
    );
    expect(hit.text).toBe(miss.text);
    expect(hit.headers.etag).toBe(miss.headers.etag);
    expect(miss.headers.etag).toMatch(/^W\/"[0-9a-f]+-[A-Za-z0-9+/]{27}"$/);
    expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(miss.headers['content-length']).toBe(String(Buffer.byteLength(miss.text)));
    // What was sent is what JSON.stringify would have written for the same page.
    expect(miss.text).toBe(JSON.stringify(JSON.parse(miss.text)));
    expect(JSON.parse(miss.text).data[1]).toMatchObject({ date: '2024-01-03', adjClose: 185.1 });
    // The stored ETag answers a conditional GET on the hit path too.
    await t.http
      .get('/api/v1/data?symbol=AAPL&limit=5')
      .set('If-None-Match', hit.headers.etag)
      .expect(304);
  });

  it('answers 304 Not Modified to If-None-Match with the current ETag, and 200 after a change', async () => {
    await t.http.post('/api/v1/data').send([bar()]).expect(200);
    const first = await t.http.get('/api/v1/data?symbol=AAPL').expect(200);
    const etag = first.headers.etag;
    expect(etag).toBeDefined();
    const again = await t.http
      .get('/api/v1/data?symbol=AAPL')
      .set('If-None-Match', etag)
      .expect(304);
    expect(again.text).toBe('');
    await t.http
      .post('/api/v1/data')
      .send([bar({ close: 186 })])
      .expect(200);
    const changed = await t.http
      .get('/api/v1/data?symbol=AAPL')
      .set('If-None-Match', etag)
      .expect(200);
    expect(changed.headers.etag).not.toBe(etag);
  });
});

describe('security headers, CORS and gzip', () => {
  const t = new TestApp('sqlite');
  beforeAll(() => t.start({ CORS_ORIGINS: 'https://app.example.com' }));
  afterAll(() => t.stop());

  it('sets helmet headers with a deny-all CSP on the API and a Swagger-friendly one on /docs', async () => {
    const api = await t.http.get('/api/v1/data').expect(200);
    expect(api.headers['content-security-policy']).toBe(
      "default-src 'none';frame-ancestors 'none'",
    );
    expect(api.headers['x-content-type-options']).toBe('nosniff');
    expect(api.headers['x-frame-options']).toBeDefined();
    expect(api.headers['x-powered-by']).toBeUndefined();
    const docs = await t.http.get('/docs/').expect(200);
    expect(docs.text).toContain('swagger-ui');
    const csp = docs.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).not.toContain('upgrade-insecure-requests');
  });

  it('allows only listed origins, and compresses large bodies', async () => {
    const ok = await t.http.get('/api/v1/data').set('Origin', 'https://app.example.com');
    expect(ok.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const other = await t.http.get('/api/v1/data').set('Origin', 'https://evil.example');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    await t.http
      .post('/api/v1/data')
      .send(
        Array.from({ length: 50 }, (_, i) =>
          bar({ date: `2024-02-${String((i % 28) + 1).padStart(2, '0')}`, symbol: `S${i}` }),
        ),
      )
      .expect(200);
    const big = await t.http
      .get('/api/v1/data?limit=100')
      .set('Accept-Encoding', 'gzip')
      .expect(200);
    expect(big.headers['content-encoding']).toBe('gzip');
    expect(big.body.data).toHaveLength(50);
  });

  it('rejects unknown query parameters and never leaks SQL or stacks', async () => {
    const res = await t.http.get('/api/v1/data?symbol=AAPL&drop=table').expect(400);
    expect(JSON.stringify(res.body)).not.toMatch(/SELECT|at \w+ \(/);
  });
});

/**
 * Two instances, as two replicas: one database (a shared SQLite file here) and one Redis. They
 * share one rate-limit budget per client and see each other's cache invalidations.
 */
const KEY = 'replica-test-key-0001';
const READER = 'replica-read-key-0001';

describeWithRedis('two instances sharing Redis', (url) => {
  const dir = mkdtempSync(join(tmpdir(), 'hd-replicas-'));
  const a = new TestApp('sqlite');
  const b = new TestApp('sqlite');

  beforeAll(async () => {
    const shared = {
      DATABASE_URL: `sqlite:${join(dir, 'shared.sqlite')}`,
      REDIS_URL: url,
      REDIS_KEY_PREFIX: uniqueRedisPrefix(),
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_KEYED: '3',
      API_KEYS: `etl:${KEY}:write,reader:${READER}:read`,
    };
    await a.start(shared);
    await b.start(shared);
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a write on one instance invalidates what the other cached', async () => {
    await a.http.post('/api/v1/data').set('X-API-Key', KEY).send([bar()]).expect(200);
    const close = async (t: TestApp) =>
      (await t.http.get('/api/v1/data?symbol=AAPL').expect(200)).body.data[0].close as number;
    expect(await close(a)).toBe(185.64);
    expect(await close(a)).toBe(185.64); // cached on a (and in Redis)
    await b.http
      .post('/api/v1/data')
      .set('X-API-Key', KEY)
      .send([bar({ close: 186 })])
      .expect(200);
    expect(await close(a)).toBe(186);
  });

  it('shares one rate-limit budget per client across instances', async () => {
    // A client of its own: the key "reader", 3 requests per window, whichever instance it asks.
    const statuses: number[] = [];
    for (const app of [a, b, a, b]) {
      statuses.push((await app.http.get('/api/v1/data').set('X-API-Key', READER)).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await a.http.get('/api/v1/data').set('X-API-Key', READER).expect(429);
    expect(limited.headers['retry-after']).toBeDefined();
  });
});
