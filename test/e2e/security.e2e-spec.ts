import { logLines } from './support/log-lines';
import { bar, describeEachDialect, TestApp } from './support/test-app';
import { trickledUpload } from './support/trickled-upload';

const READ = 'reader-key-0123456789';
const WRITE = 'writer-key-0123456789';
const ADMIN = 'admin-key-01234567890';
const KEYS = `app:${READ}:read,etl:${WRITE}:write,ops:${ADMIN}:admin`;
const CSV = 'symbol,date,open,high,low,close,volume\nSEC,2024-01-02,1,2,1,1.5,10\n';

/** API keys and roles, as a client meets them: every 401 and 403 path, and what passes. */
describeEachDialect(
  'API keys and roles',
  (t) => {
    it('writes need a key: 401 UNAUTHENTICATED with WWW-Authenticate, as problem+json', async () => {
      const res = await t.http
        .post('/api/v1/data')
        .send([bar()])
        .expect(401)
        .expect('Content-Type', /application\/problem\+json/);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="historical-data-api"/);
      expect(res.body).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
      expect(await t.count()).toBe(0);
    });

    it('a key that matches none is 401 everywhere, also on public reads', async () => {
      await t.http.get('/api/v1/data').set('X-API-Key', 'not-a-key-at-all-0000').expect(401);
      await t.http
        .post('/api/v1/data')
        .set('Authorization', `Bearer ${WRITE}x`)
        .send([bar()])
        .expect(401);
    });

    it('a read key cannot write: 403 FORBIDDEN naming the key and the role needed', async () => {
      const res = await t.http
        .post('/api/v1/data')
        .set('X-API-Key', READ)
        .send([bar()])
        .expect(403);
      expect(res.body).toMatchObject({ code: 'FORBIDDEN' });
      expect(res.body.detail).toContain('"app" has the read role; this request needs write');
      await t.http
        .post('/api/v1/data/upload')
        .set('X-API-Key', READ)
        .set('Content-Type', 'text/csv')
        .send(CSV)
        .expect(403);
      expect(await t.count()).toBe(0);
    });

    it('write keys write (X-API-Key or Bearer); bulk delete and the uploads list need admin', async () => {
      await t.http.post('/api/v1/data').set('X-API-Key', WRITE).send([bar()]).expect(200);
      const created = await t.http.get('/api/v1/data?symbol=AAPL').expect(200);
      const id = created.body.data[0].id as number;
      await t.http
        .patch(`/api/v1/data/${id}`)
        .set('Authorization', `Bearer ${WRITE}`)
        .send({ close: 186 })
        .expect(200);
      await t.http.patch(`/api/v1/data/${id}`).send({ close: 187 }).expect(401);
      await t.http.delete('/api/v1/data?symbol=AAPL').set('X-API-Key', WRITE).expect(403);
      await t.http.get('/api/v1/uploads').set('X-API-Key', WRITE).expect(403);
      await t.http.get('/api/v1/uploads').set('X-API-Key', ADMIN).expect(200);
      const deleted = await t.http
        .delete('/api/v1/data?symbol=AAPL')
        .set('X-API-Key', ADMIN)
        .expect(200);
      expect(deleted.body).toEqual({ deleted: 1 });
    });

    it('the uploads audit names the key that uploaded, and the address apart', async () => {
      const sync = await t.http
        .post('/api/v1/data/upload')
        .set('X-API-Key', WRITE)
        .set('Content-Type', 'text/csv')
        .send(CSV)
        .expect(200);
      await t.http
        .post('/api/v1/data/upload?async=true')
        .set('Authorization', `Bearer ${ADMIN}`)
        .set('Content-Type', 'text/csv')
        .send(CSV)
        .expect(202);
      const one = await t.http.get(`/api/v1/uploads/${sync.body.uploadId}`).expect(200);
      expect(one.body).toMatchObject({
        client: 'etl',
        clientIp: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$|^::1$/),
      });
      const list = await t.http.get('/api/v1/uploads').set('X-API-Key', ADMIN).expect(200);
      expect(list.body.data.map((u: { client: string }) => u.client).sort()).toEqual([
        'etl',
        'ops',
      ]);
      expect(
        list.body.data.every((u: { clientIp: string }) => u.clientIp === one.body.clientIp),
      ).toBe(true);
    });

    it('reads are public; probes, metrics and docs never need a key', async () => {
      await t.http.get('/api/v1/data').expect(200);
      await t.http.get('/health').expect(200);
      await t.http.get('/health/ready').expect(200);
      await t.http.get('/metrics').expect(200);
      await t.http.get('/docs-json').expect(200);
    });
  },
  { API_KEYS: KEYS },
);

describe('AUTH_READS=true', () => {
  const t = new TestApp('sqlite');
  beforeAll(() => t.start({ API_KEYS: KEYS, AUTH_READS: 'true' }));
  afterAll(() => t.stop());

  it('reads need a key of any role; probes still do not', async () => {
    const res = await t.http.get('/api/v1/data').expect(401);
    expect(res.headers['www-authenticate']).toBeDefined();
    await t.http.get('/api/v1/data').set('X-API-Key', READ).expect(200);
    await t.http.get('/api/v1/data/1').set('Authorization', `Bearer ${WRITE}`).expect(404);
    await t.http.get('/health/ready').expect(200);
  });
});

describe('no API_KEYS (development)', () => {
  it('writes are open, and a key sent anyway is ignored', async () => {
    const t = new TestApp('sqlite');
    await t.start();
    try {
      await t.http.post('/api/v1/data').send([bar()]).expect(200);
      await t.http.get('/api/v1/data').set('X-API-Key', 'whatever-key-000000').expect(200);
    } finally {
      await t.stop();
    }
  });
});

/**
 * A key in the query string (the habit of many market-data APIs) is refused, and the key is
 * written nowhere: not in the problem, not in the request log.
 */
describe('API keys in the query string', () => {
  const { lines, destination } = logLines();
  const t = new TestApp('sqlite');
  beforeAll(() =>
    t.start(
      { API_KEYS: KEYS, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      {
        log: {
          destination,
        },
      },
    ),
  );
  afterAll(() => t.stop());
  const logLine = async (requestId: string) => {
    for (let i = 0; i < 50; i++) {
      const found = lines.find((l) => l.msg === 'request completed' && l.requestId === requestId);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  };

  it('answers 401 naming the header to use, with the key redacted from instance and the log', async () => {
    const res = await t.http
      .get(`/api/v1/data?symbol=AAPL&apiKey=${WRITE}`)
      .set('X-Request-Id', 'query-key-1')
      .expect(401)
      .expect('Content-Type', /application\/problem\+json/);
    expect(res.headers['www-authenticate']).toMatch(/X-API-Key/);
    expect(res.body).toMatchObject({
      code: 'UNAUTHENTICATED',
      instance: '/api/v1/data?symbol=AAPL&apiKey=REDACTED',
    });
    expect(res.body.detail).toContain('not accepted in the query string (apiKey)');
    expect(res.body.detail).toContain('X-API-Key header');
    expect(JSON.stringify(res.body)).not.toContain(WRITE);

    // The line is written when the response finishes, which may be after the client has it.
    const line = await logLine('query-key-1');
    expect(line).toMatchObject({
      req: { url: '/api/v1/data?symbol=AAPL&apiKey=REDACTED' },
      status: 401,
    });
    expect(JSON.stringify(lines)).not.toContain(WRITE);
  });

  it('refuses every spelling, on writes too, and writes nothing', async () => {
    for (const param of ['api_key', 'APIKEY', 'token', 'Key', 'access_token', 'x-api-key']) {
      const res = await t.http
        .post(`/api/v1/data?${param}=${ADMIN}`)
        .set('X-API-Key', WRITE)
        .send([bar()])
        .expect(401);
      expect(res.body.instance).toBe(`/api/v1/data?${param}=REDACTED`);
    }
    expect(await t.count()).toBe(0);
    expect(JSON.stringify(lines)).not.toContain(ADMIN);
  });

  it('redacts it from the problem of an unknown route too', async () => {
    const res = await t.http.get(`/no-such-route?key=${READ}`).expect(404);
    expect(res.body.instance).toBe('/no-such-route?key=REDACTED');
    expect(JSON.stringify(res.body)).not.toContain(READ);
  });

  it('leaves parameters that merely contain the word alone', async () => {
    await t.http.get('/health?monkey=1&tokens=2').expect(200);
  });
});

describe('rate limits without API_KEYS (a person trying it locally)', () => {
  it('are generous: 6000 requests and 120 uploads a minute, said in the headers', async () => {
    const t = new TestApp('sqlite');
    await t.start({ RATE_LIMIT_ENABLED: 'true' });
    try {
      const read = await t.http.get('/api/v1/data').expect(200);
      expect(read.headers['x-ratelimit-limit']).toBe('6000');
      const upload = await t.http
        .post('/api/v1/data/upload')
        .set('Content-Type', 'text/csv')
        .send(CSV)
        .expect(200);
      expect(upload.headers['x-ratelimit-limit-uploads']).toBe('120');
    } finally {
      await t.stop();
    }
  });
});

describe('API keys in the query string, no API_KEYS (development)', () => {
  it('are refused too, so the habit is caught before production', async () => {
    const t = new TestApp('sqlite');
    await t.start();
    try {
      const res = await t.http.get('/api/v1/data?token=abc-some-vendor-token').expect(401);
      expect(res.body.instance).toBe('/api/v1/data?token=REDACTED');
    } finally {
      await t.stop();
    }
  });
});

/** Rate limits: the budget counts down in the headers, then 429 with Retry-After. */
describeEachDialect(
  'rate limits',
  (t) => {
    const headers = (res: { headers: Record<string, string> }) => ({
      limit: Number(res.headers['x-ratelimit-limit']),
      remaining: Number(res.headers['x-ratelimit-remaining']),
      reset: Number(res.headers['x-ratelimit-reset']),
    });

    it('counts down per client, then answers 429 RATE_LIMITED with Retry-After; probes are exempt', async () => {
      const seen = [];
      for (let i = 0; i < 3; i++) seen.push(headers(await t.http.get('/api/v1/data').expect(200)));
      expect(seen.map((h) => h.remaining)).toEqual([2, 1, 0]);
      expect(seen.every((h) => h.limit === 3 && h.reset > 0 && h.reset <= 60)).toBe(true);

      const limited = await t.http
        .get('/api/v1/data')
        .expect(429)
        .expect('Content-Type', /application\/problem\+json/);
      expect(limited.body).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);

      // Probes and scrapes: not limited, no budget headers.
      for (let i = 0; i < 5; i++) {
        const probe = await t.http.get('/health/ready').expect(200);
        expect(probe.headers['x-ratelimit-limit']).toBeUndefined();
      }
      const metrics = await t.http.get('/metrics').expect(200);
      expect(metrics.text).toMatch(/^rate_limited_requests_total [1-9]/m);

      // A key is another client, with the keyed budget.
      const keyed = await t.http.get('/api/v1/data').set('X-API-Key', READ).expect(200);
      expect(headers(keyed)).toMatchObject({ limit: 50, remaining: 49 });
    });

    it('uploads have their own, smaller budget on top', async () => {
      const upload = () =>
        t.http
          .post('/api/v1/data/upload')
          .set('X-API-Key', WRITE)
          .set('Content-Type', 'text/csv')
          .send(CSV);
      const first = await upload().expect(200);
      expect(first.headers['x-ratelimit-limit-uploads']).toBe('2');
      expect(first.headers['x-ratelimit-remaining-uploads']).toBe('1');
      await upload().expect(200);
      const third = await upload().expect(429);
      expect(third.headers['retry-after']).toBeDefined();
      // Other requests of the same key still pass.
      await t.http.get('/api/v1/data').set('X-API-Key', WRITE).expect(200);
    });

    it('ignores X-Forwarded-For when TRUST_PROXY is off: a client cannot mint new budgets', async () => {
      const res = await t.http.get('/api/v1/data').set('X-Forwarded-For', '203.0.113.9');
      // Still the loopback client's budget, spent by the first test.
      expect(res.status).toBe(429);
    });
  },
  {
    API_KEYS: KEYS,
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_ANONYMOUS: '3',
    RATE_LIMIT_KEYED: '50',
    RATE_LIMIT_UPLOADS: '2',
  },
);

describe('rate limits behind a trusted proxy', () => {
  it('budgets per X-Forwarded-For client when TRUST_PROXY trusts the proxy', async () => {
    const t = new TestApp('sqlite');
    await t.start({
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_ANONYMOUS: '1',
      TRUST_PROXY: 'loopback',
    });
    try {
      await t.http.get('/api/v1/data').set('X-Forwarded-For', '198.51.100.1').expect(200);
      await t.http.get('/api/v1/data').set('X-Forwarded-For', '198.51.100.1').expect(429);
      await t.http.get('/api/v1/data').set('X-Forwarded-For', '198.51.100.2').expect(200);
    } finally {
      await t.stop();
    }
  });
});

/** Idempotency-Key on POST /data and /data/upload. */
describeEachDialect(
  'idempotency keys',
  (t) => {
    const post = (key: string, body: object, apiKey = WRITE) =>
      t.http.post('/api/v1/data').set('X-API-Key', apiKey).set('Idempotency-Key', key).send(body);

    it('replays the identical response for the same request, without writing again', async () => {
      const first = await post('order-1', [bar()]).expect(200);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(first.body).toMatchObject({ inserted: 1 });
      const again = await post('order-1', [bar()]).expect(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body); // "inserted": 1, not "updated": 1
      expect(await t.count()).toBe(1);
      const rows = await t.dataSource.query('SELECT status, fingerprint FROM idempotency_keys');
      expect(rows).toEqual([
        { status: 'completed', fingerprint: expect.stringMatching(/^[0-9a-f]{64}$/) },
      ]);
    });

    it('answers 422 IDEMPOTENCY_KEY_REUSED for another request under the same key', async () => {
      await post('order-2', [bar()]).expect(200);
      const res = await post('order-2', [bar({ close: 186 })]).expect(422);
      expect(res.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
      expect((await t.rows())[0].close).toBe(185.64);
    });

    it('scopes keys per client: the same key from another API key is a new request', async () => {
      await post('shared-name', [bar()]).expect(200);
      const other = await post('shared-name', [bar({ symbol: 'MSFT' })], ADMIN).expect(200);
      expect(other.headers['idempotent-replayed']).toBeUndefined();
      expect(await t.count()).toBe(2);
    });

    it('a failed first request frees its key; an expired key is a new request', async () => {
      await post('bad-first', [{ symbol: 'AAPL' }], WRITE).expect(422);
      await post('bad-first', [bar()]).expect(200);
      await t.dataSource.query(
        t.dialect === 'mysql'
          ? 'UPDATE idempotency_keys SET expires_at = DATE_SUB(NOW(6), INTERVAL 1 SECOND)'
          : "UPDATE idempotency_keys SET expires_at = strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 seconds')",
      );
      const fresh = await post('bad-first', [bar({ close: 186 })]).expect(200);
      expect(fresh.headers['idempotent-replayed']).toBeUndefined();
      expect(fresh.body).toMatchObject({ updated: 1 });
    });

    it('rejects a malformed key with 400', async () => {
      await post('x'.repeat(256), [bar()]).expect(400);
    });

    it('uploads: replays for the same file and parameters, 422 for another file', async () => {
      const upload = (key: string, csv: string, query = '') =>
        t.http
          .post(`/api/v1/data/upload${query}`)
          .set('X-API-Key', WRITE)
          .set('Idempotency-Key', key)
          .attach('file', Buffer.from(csv), 'bars.csv');
      const first = await upload('file-1', CSV).expect(200);
      const again = await upload('file-1', CSV).expect(200);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.body).toEqual(first.body);
      await upload('file-1', CSV.replace('1.5', '1.6')).expect(422);
      await upload('file-1', CSV, '?onConflict=skip').expect(422);
      const list = await t.http.get('/api/v1/uploads').set('X-API-Key', ADMIN).expect(200);
      expect(list.body.pagination.total).toBe(1);
    });

    it('a concurrent duplicate gets 409 IDEMPOTENCY_IN_PROGRESS while the first runs', async () => {
      const slow = trickledUpload(await t.url(), {
        headers: { 'X-API-Key': WRITE, 'Idempotency-Key': 'slow-1' },
        first: CSV,
        rest: 'SEC,2024-01-03,1,2,1,1.5,10\n',
        afterMs: 700,
      });
      await new Promise((r) => setTimeout(r, 200));
      const dup = await t.http
        .post('/api/v1/data/upload')
        .set('X-API-Key', WRITE)
        .set('Idempotency-Key', 'slow-1')
        .set('Content-Type', 'text/csv')
        .send(CSV)
        .expect(409);
      expect(dup.body).toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS' });
      expect((await slow).status).toBe(200);
      expect(await t.count()).toBe(2);
    });
  },
  { API_KEYS: KEYS },
);
