import { bar, describeEachDialect } from './support/test-app';

const PROBLEM = /application\/problem\+json/;

describeEachDialect('bars API', (t) => {
  const post = (body: unknown, query = '') =>
    t.http
      .post(`/api/v1/data${query}`)
      .set('Content-Type', 'application/json')
      .send(body as object);

  describe('GET /api/v1/data', () => {
    it('answers an empty page on an empty table', async () => {
      const res = await t.http.get('/api/v1/data').expect(200);
      expect(res.body).toEqual({
        data: [],
        pagination: { page: 1, limit: 100, total: 0, totalPages: 0, nextCursor: null },
      });
    });

    it('serves prices and volume as JSON numbers and dates as YYYY-MM-DD', async () => {
      await post([
        bar({ open: '1.123456789', high: 2, low: 1, close: 1.5, volume: '1,000', adjClose: 1.4 }),
        bar({
          date: '2024-01-03',
          open: 999999999999.5,
          high: 999999999999.99,
          low: 1,
          close: 5,
        }),
      ]).expect(200);
      const res = await t.http.get('/api/v1/data?symbol=AAPL').expect(200);
      expect(res.body.data).toEqual([
        {
          id: expect.any(Number),
          symbol: 'AAPL',
          date: '2024-01-02',
          open: 1.12345679,
          high: 2,
          low: 1,
          close: 1.5,
          adjClose: 1.4,
          volume: 1000,
        },
        {
          id: expect.any(Number),
          symbol: 'AAPL',
          date: '2024-01-03',
          open: 999999999999.5,
          high: 999999999999.99,
          low: 1,
          close: 5,
          volume: 82488700,
        },
      ]);
    });

    it('filters by symbol (case-insensitive) and an inclusive date range, ordered by date then symbol', async () => {
      const days = ['2024-01-02', '2024-01-03', '2024-01-04', '2024-01-05'];
      await post(days.flatMap((date) => [bar({ date }), bar({ symbol: 'MSFT', date })])).expect(
        200,
      );

      const one = await t.http
        .get('/api/v1/data?symbol=msft&start_date=2024-01-03&end_date=2024-01-04')
        .expect(200);
      expect(one.body.data.map((b: { date: string }) => b.date)).toEqual([
        '2024-01-03',
        '2024-01-04',
      ]);
      expect(one.body.data.every((b: { symbol: string }) => b.symbol === 'MSFT')).toBe(true);

      const all = await t.http.get('/api/v1/data?start_date=2024-01-04').expect(200);
      expect(
        all.body.data.map((b: { symbol: string; date: string }) => `${b.date} ${b.symbol}`),
      ).toEqual(['2024-01-04 AAPL', '2024-01-04 MSFT', '2024-01-05 AAPL', '2024-01-05 MSFT']);
    });

    it('pages with total and totalPages, and sort=desc reverses the order', async () => {
      const dates = Array.from(
        { length: 25 },
        (_, i) => `2024-02-${String(i + 1).padStart(2, '0')}`,
      );
      await post(dates.map((date) => bar({ date }))).expect(200);

      const page3 = await t.http.get('/api/v1/data?limit=10&page=3').expect(200);
      expect(page3.body.pagination).toEqual({
        page: 3,
        limit: 10,
        total: 25,
        totalPages: 3,
        nextCursor: null,
      });
      expect(page3.body.data.map((b: { date: string }) => b.date)).toEqual(dates.slice(20));

      const desc = await t.http.get('/api/v1/data?limit=2&sort=desc').expect(200);
      expect(desc.body.data.map((b: { date: string }) => b.date)).toEqual([
        '2024-02-25',
        '2024-02-24',
      ]);
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=abc', 'limit'],
      ['page=0', 'page'],
      ['start_date=2024-02-30', 'start_date'],
      ['end_date=2024-13-01', 'end_date'],
      ['start_date=02/01/2024', 'start_date'],
      ['start_date=2024-02-02&end_date=2024-02-01', 'end_date'],
      ['sort=up', 'sort'],
      ['symbol=%20bad%20symbol!', 'symbol'],
      ['colour=blue', 'colour'],
    ])('%s → 400 naming %s', async (query, field) => {
      const res = await t.http
        .get(`/api/v1/data?${query}`)
        .expect(400)
        .expect('Content-Type', PROBLEM);
      expect(res.body).toMatchObject({
        status: 400,
        code: 'VALIDATION_ERROR',
        instance: `/api/v1/data?${query}`,
      });
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
      expect(res.body.detail).toContain(field);
    });

    it('lists every bad parameter at once', async () => {
      const res = await t.http.get('/api/v1/data?limit=0&page=-1&sort=x').expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'limit',
        'page',
        'sort',
      ]);
    });
  });

  describe('GET /api/v1/data/:id', () => {
    it('returns the bar, or 404 problem+json when there is none', async () => {
      await post([bar()]).expect(200);
      const [{ id }] = (await t.http.get('/api/v1/data').expect(200)).body.data;
      await t.http.get(`/api/v1/data/${id}`).expect(200, { ...bar(), id });

      const missing = await t.http
        .get(`/api/v1/data/${id + 1000}`)
        .expect(404)
        .expect('Content-Type', PROBLEM);
      expect(missing.body).toMatchObject({
        type: 'urn:problem:historical-data:not-found',
        title: 'Resource not found',
        status: 404,
        code: 'NOT_FOUND',
        instance: `/api/v1/data/${id + 1000}`,
        requestId: missing.headers['x-request-id'],
      });
    });

    it('answers 400 naming id for a non-numeric id', async () => {
      const res = await t.http.get('/api/v1/data/abc').expect(400);
      expect(res.body.errors).toEqual([expect.objectContaining({ field: 'id' })]);
    });
  });

  describe('POST /api/v1/data', () => {
    it('inserts valid rows, reports invalid ones by index, field and code', async () => {
      const res = await post([
        bar(),
        bar({ date: '2024-01-03', high: 1, low: 2 }),
        bar({ date: '2024-01-04', symbol: '' }),
        bar({ date: '20240105', volume: -1 }),
      ]).expect(200);
      expect(res.body).toEqual({
        received: 4,
        inserted: 1,
        updated: 0,
        skipped: 0,
        failed: 3,
        errors: [
          { index: 1, field: 'high', code: 'HIGH_BELOW_LOW', message: expect.any(String) },
          { index: 2, field: 'symbol', code: 'MISSING_FIELD', message: expect.any(String) },
          { index: 3, field: 'volume', code: 'INVALID_VOLUME', message: expect.any(String) },
        ],
      });
      expect(await t.count()).toBe(1);
    });

    it('upserts by default: an existing (symbol, date) is reported as updated and changed', async () => {
      await post([bar(), bar({ date: '2024-01-03' })]).expect(200);
      const res = await post([
        bar({ close: 188, adjClose: 187 }),
        bar({ date: '2024-01-04' }),
      ]).expect(200);
      expect(res.body).toMatchObject({
        received: 2,
        inserted: 1,
        updated: 1,
        skipped: 0,
        failed: 0,
      });
      const [row] = await t.rows('`date` = ?', ['2024-01-02']);
      expect(Number(row.close)).toBe(188);
      expect(Number(row.adj_close)).toBe(187);
      expect(await t.count()).toBe(3);
    });

    it('onConflict=skip reports skipped and leaves the stored row unchanged', async () => {
      await post([bar()]).expect(200);
      const res = await post(
        [bar({ close: 150, low: 140 }), bar({ date: '2024-01-03' })],
        '?onConflict=skip',
      ).expect(200);
      expect(res.body).toMatchObject({ inserted: 1, updated: 0, skipped: 1, failed: 0 });
      const [row] = await t.rows('`date` = ?', ['2024-01-02']);
      expect(Number(row.close)).toBe(185.64);
    });

    it('onConflict=error reports ALREADY_EXISTS per stored row and writes the others', async () => {
      await post([bar()]).expect(200);
      const res = await post(
        [bar({ date: '2024-01-03' }), bar({ close: 150, low: 140 })],
        '?onConflict=error',
      ).expect(200);
      expect(res.body).toMatchObject({ received: 2, inserted: 1, updated: 0, failed: 1 });
      expect(res.body.errors).toEqual([
        expect.objectContaining({ index: 1, code: 'ALREADY_EXISTS' }),
      ]);
      const [row] = await t.rows('`date` = ?', ['2024-01-02']);
      expect(Number(row.close)).toBe(185.64);
    });

    it('onConflict=error with nothing new is a 422 (nothing could be written)', async () => {
      await post([bar()]).expect(200);
      const res = await post([bar()], '?onConflict=error')
        .expect(422)
        .expect('Content-Type', PROBLEM);
      expect(res.body).toMatchObject({
        code: 'ROWS_REJECTED',
        received: 1,
        inserted: 0,
        failed: 1,
      });
      expect(res.body.errors).toEqual([
        expect.objectContaining({ index: 0, code: 'ALREADY_EXISTS' }),
      ]);
    });

    it('atomic=true with one bad bar writes nothing and answers 422 listing it', async () => {
      const res = await post(
        [bar(), bar({ date: '2024-01-03' }), bar({ date: '2024-02-30' })],
        '?atomic=true',
      )
        .expect(422)
        .expect('Content-Type', PROBLEM);
      expect(res.body).toMatchObject({
        code: 'ROWS_REJECTED',
        received: 3,
        inserted: 0,
        failed: 1,
      });
      expect(res.body.errors).toEqual([
        expect.objectContaining({ index: 2, field: 'date', code: 'INVALID_DATE' }),
      ]);
      expect(await t.count()).toBe(0);
    });

    it('atomic=true with onConflict=error rolls back every batch when one row is already stored', async () => {
      await post([bar({ date: '2024-03-01' })]).expect(200);
      const many = Array.from({ length: 2500 }, (_, i) =>
        bar({ symbol: `S${i}`, date: '2024-03-01' }),
      );
      many.push(bar({ date: '2024-03-01' }));
      const res = await post(many, '?atomic=true&onConflict=error').expect(422);
      expect(res.body.errors).toEqual([
        expect.objectContaining({ index: 2500, code: 'ALREADY_EXISTS' }),
      ]);
      expect(await t.count()).toBe(1);
    });

    it('rejects a (symbol, date) repeated within the body on its later element', async () => {
      const res = await post([bar(), bar({ symbol: ' aapl ', close: 186 })]).expect(200);
      expect(res.body).toMatchObject({ inserted: 1, failed: 1 });
      expect(res.body.errors).toEqual([
        expect.objectContaining({ index: 1, code: 'DUPLICATE_IN_FILE' }),
      ]);
    });

    it('writes 10 000 bars in one request and counts them', async () => {
      const bars = Array.from({ length: 10_000 }, (_, i) =>
        bar({
          symbol: `SYM${i % 50}`,
          date: new Date(Date.UTC(2000, 0, 1 + Math.floor(i / 50))).toISOString().slice(0, 10),
        }),
      );
      const res = await post(bars).expect(200);
      expect(res.body).toMatchObject({ received: 10_000, inserted: 10_000, failed: 0 });
      expect(await t.count()).toBe(10_000);
      const again = await post(bars).expect(200);
      expect(again.body).toMatchObject({ inserted: 0, updated: 10_000 });
    });

    it('a 10 001-bar body gets 413 and writes nothing', async () => {
      const bars = Array.from({ length: 10_001 }, (_, i) => bar({ symbol: `S${i}` }));
      const res = await post(bars).expect(413).expect('Content-Type', PROBLEM);
      expect(res.body.code).toBe('PAYLOAD_TOO_LARGE');
      expect(await t.count()).toBe(0);
    });

    it.each([
      ['malformed JSON', '[{"symbol":', 'application/json', 400, 'INVALID_JSON'],
      ['a non-array body', '{"symbol":"AAPL"}', 'application/json', 400, 'VALIDATION_ERROR'],
      ['an empty array', '[]', 'application/json', 400, 'VALIDATION_ERROR'],
      ['an array of non-objects', '[1, "x"]', 'application/json', 400, 'VALIDATION_ERROR'],
      ['a CSV body', 'symbol,date\nAAPL,2024-01-02', 'text/csv', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ])('%s → %s %s', async (_name, body, type, status, code) => {
      const res = await t.http
        .post('/api/v1/data')
        .set('Content-Type', type)
        .send(body)
        .expect(status);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body.code).toBe(code);
    });

    it('rejects bad query options with 400', async () => {
      const res = await post([bar()], '?onConflict=merge&atomic=yes').expect(400);
      expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'atomic',
        'onConflict',
      ]);
    });
  });

  describe('PUT, PATCH and DELETE', () => {
    const idOf = async (date = '2024-01-02'): Promise<number> => {
      const res = await t.http.get(`/api/v1/data?start_date=${date}&end_date=${date}`).expect(200);
      return res.body.data[0].id as number;
    };

    it('PUT replaces a bar; PATCH changes fields and re-checks the rules', async () => {
      await post([bar({ adjClose: 180 })]).expect(200);
      const id = await idOf();
      const put = await t.http
        .put(`/api/v1/data/${id}`)
        .send(bar({ close: 186, date: '2024-01-03' }))
        .expect(200);
      expect(put.body).toEqual({ ...bar({ close: 186, date: '2024-01-03' }), id });

      const patched = await t.http
        .patch(`/api/v1/data/${id}`)
        .send({ volume: 5, adjClose: 185 })
        .expect(200);
      expect(patched.body).toMatchObject({ id, volume: 5, adjClose: 185, close: 186 });

      const bad = await t.http.patch(`/api/v1/data/${id}`).send({ low: 187 }).expect(400);
      expect(bad.body.errors).toEqual(
        expect.arrayContaining([expect.objectContaining({ code: 'CLOSE_OUT_OF_RANGE' })]),
      );
      const cleared = await t.http.patch(`/api/v1/data/${id}`).send({ adjClose: null }).expect(200);
      expect(cleared.body).not.toHaveProperty('adjClose');
    });

    it('PUT onto another bar’s (symbol, date) is 409 ALREADY_EXISTS; unknown ids are 404', async () => {
      await post([bar(), bar({ date: '2024-01-03' })]).expect(200);
      const id = await idOf('2024-01-03');
      const res = await t.http.put(`/api/v1/data/${id}`).send(bar()).expect(409);
      expect(res.body.code).toBe('ALREADY_EXISTS');
      await t.http.put('/api/v1/data/999999').send(bar()).expect(404);
      await t.http.patch('/api/v1/data/999999').send({ volume: 1 }).expect(404);
      const invalid = await t.http.put(`/api/v1/data/${id}`).send({ symbol: 'AAPL' }).expect(400);
      expect(invalid.body.errors.map((e: { field: string }) => e.field)).toEqual(
        expect.arrayContaining(['date', 'open', 'high', 'low', 'close', 'volume']),
      );
    });

    it('DELETE /:id removes one bar (204), then 404', async () => {
      await post([bar()]).expect(200);
      const id = await idOf();
      await t.http.delete(`/api/v1/data/${id}`).expect(204);
      await t.http.delete(`/api/v1/data/${id}`).expect(404);
      expect(await t.count()).toBe(0);
    });

    it('DELETE with filters removes the matching bars and needs at least one filter', async () => {
      await post([bar(), bar({ date: '2024-01-03' }), bar({ symbol: 'MSFT' })]).expect(200);
      const res = await t.http.delete('/api/v1/data?symbol=aapl&start_date=2024-01-03').expect(200);
      expect(res.body).toEqual({ deleted: 1 });
      expect((await t.rows()).map((r) => `${String(r.symbol)} ${String(r.date)}`)).toEqual([
        'AAPL 2024-01-02',
        'MSFT 2024-01-02',
      ]);
      await t.http.delete('/api/v1/data').expect(400);
    });
  });

  describe('cross-cutting', () => {
    it('echoes a safe X-Request-Id and generates one otherwise', async () => {
      const echoed = await t.http.get('/api/v1/data').set('X-Request-Id', 'abc-123').expect(200);
      expect(echoed.headers['x-request-id']).toBe('abc-123');
      const replaced = await t.http.get('/nope').set('X-Request-Id', 'bad id\u00e9').expect(404);
      expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(replaced.body).toMatchObject({
        code: 'NOT_FOUND',
        requestId: replaced.headers['x-request-id'],
      });
    });
  });
});
