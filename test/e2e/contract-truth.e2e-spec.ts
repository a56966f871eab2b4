import { bar, describeEachDialect } from './support/test-app';

/*
 * The API does what docs/API.md says, found by trying it as a new user would: parameter
 * messages, unknown body fields, methods a route does not have, and content negotiation.
 */
const PROBLEM = /application\/problem\+json/;

describeEachDialect('contract truth', (t) => {
  const send = (method: 'post' | 'put' | 'patch', path: string, body: unknown) =>
    t.http[method](path)
      .set('Content-Type', 'application/json')
      .send(body as object);

  describe('page parameters', () => {
    it('page=abc on GET /api/v1/uploads says it must be a whole number, not that it is too large', async () => {
      const res = await t.http.get('/api/v1/uploads?page=abc').expect(400);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body.errors).toEqual([
        { field: 'page', message: 'page must be a whole number >= 1' },
      ]);
      const zero = await t.http.get('/api/v1/uploads?page=0').expect(400);
      expect(zero.body.errors[0].message).toBe('page must be a whole number >= 1');
      const huge = await t.http.get('/api/v1/uploads?page=10000001').expect(400);
      expect(huge.body.errors[0].message).toBe('page must be at most 10000000');
      const list = await t.http.get('/api/v1/data?page=abc').expect(400);
      expect(list.body.errors[0].message).toBe('page must be a whole number >= 1');
    });
  });

  describe('unknown body fields', () => {
    it('POST /api/v1/data refuses an element with a field no bar has, naming it and its index', async () => {
      const res = await send('post', '/api/v1/data', [
        bar(),
        bar({ date: '2024-01-03', vwap: 1.4 }),
        bar({ date: '2024-01-04', adjclose: 2, note: 'x' }),
      ]).expect(400);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
      expect(res.body.detail).toMatch(/2 of 3 elements/);
      expect(res.body.errors).toEqual([
        { index: 1, field: 'vwap', message: expect.stringMatching(/^vwap is not a bar field/) },
        { index: 2, field: 'adjclose', message: expect.stringMatching(/not a bar field/) },
        { index: 2, field: 'note', message: expect.stringMatching(/not a bar field/) },
      ]);
      expect(await t.count()).toBe(0);
    });

    it('POST accepts adj_close and the id a GET answered with (ignored: the store assigns ids)', async () => {
      await send('post', '/api/v1/data', [bar({ adj_close: 185 })]).expect(200);
      const [stored] = (await t.http.get('/api/v1/data').expect(200)).body.data;
      const res = await send('post', '/api/v1/data', [{ ...stored, id: 999, close: 186 }]).expect(
        200,
      );
      expect(res.body).toMatchObject({ updated: 1, failed: 0 });
      const again = await t.http.get(`/api/v1/data/${stored.id}`).expect(200);
      expect(again.body).toMatchObject({ id: stored.id, close: 186, adjClose: 185 });
    });

    it('PUT and PATCH /api/v1/data/:id refuse unknown fields and an id that is not the path', async () => {
      await send('post', '/api/v1/data', [bar()]).expect(200);
      const [stored] = (await t.http.get('/api/v1/data').expect(200)).body.data;
      const put = await send('put', `/api/v1/data/${stored.id}`, { ...bar(), vwap: 1.4 }).expect(
        400,
      );
      expect(put.body.errors).toEqual([
        { field: 'vwap', message: expect.stringMatching(/^vwap is not a bar field/) },
      ]);
      const patch = await send('patch', `/api/v1/data/${stored.id}`, { clsoe: 186 }).expect(400);
      expect(patch.body.errors).toEqual([
        { field: 'clsoe', message: expect.stringMatching(/not a bar field/) },
      ]);
      const wrongId = await send('patch', `/api/v1/data/${stored.id}`, {
        id: stored.id + 1,
        close: 186,
      }).expect(400);
      expect(wrongId.body.errors).toEqual([{ field: 'id', message: expect.any(String) }]);
      // Sending back what GET answered, changed, is fine.
      await send('put', `/api/v1/data/${stored.id}`, { ...stored, close: 186 }).expect(200);
      const now = await t.http.get(`/api/v1/data/${stored.id}`).expect(200);
      expect(now.body.close).toBe(186);
    });
  });

  describe('methods a route does not have', () => {
    it.each([
      ['put', '/api/v1/data', 'GET, HEAD, POST, DELETE'],
      ['patch', '/api/v1/data', 'GET, HEAD, POST, DELETE'],
      ['post', '/api/v1/data/1', 'GET, HEAD, PUT, PATCH, DELETE'],
      ['delete', '/api/v1/uploads', 'GET, HEAD'],
      ['put', '/health', 'GET, HEAD'],
    ] as const)('%s %s is 405 with Allow: %s', async (method, path, allow) => {
      const res = await t.http[method](path).expect(405);
      expect(res.headers.allow).toBe(allow);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({
        code: 'METHOD_NOT_ALLOWED',
        status: 405,
        type: 'urn:problem:historical-data:method-not-allowed',
      });
    });

    it('an unknown path is still 404, and so is an unknown bar', async () => {
      const res = await t.http.put('/api/v1/nothing-here').expect(404);
      expect(res.body.code).toBe('NOT_FOUND');
      expect(res.headers.allow).toBeUndefined();
      await t.http.get('/api/v1/nothing-here').expect(404);
      await t.http.get('/api/v1/data/424242').expect(404);
    });
  });

  describe('content negotiation on GET /api/v1/data', () => {
    const seed = () =>
      send('post', '/api/v1/data', [
        bar({ adjClose: 184.73 }),
        bar({ symbol: 'MSFT', date: '2024-01-03', open: 10, high: 12, low: 9, close: 11 }),
      ]).expect(200);

    it('Accept: text/csv gets the page as CSV with the export columns', async () => {
      await seed();
      const res = await t.http.get('/api/v1/data').set('Accept', 'text/csv').expect(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers.vary).toMatch(/\bAccept\b/);
      expect(res.text).toBe(
        'symbol,date,open,high,low,close,adj_close,volume\n' +
          'AAPL,2024-01-02,187.15,188.44,183.89,185.64,184.73,82488700\n' +
          'MSFT,2024-01-03,10,12,9,11,,82488700\n',
      );
      const page = await t.http.get('/api/v1/data?limit=1&page=2').set('Accept', 'text/csv');
      expect(page.text.split('\n')[1]).toMatch(/^MSFT,/);
    });

    it('never answers a cached JSON body to a CSV request, or the other way round', async () => {
      await seed();
      const json1 = await t.http.get('/api/v1/data?symbol=AAPL').expect(200);
      const csv1 = await t.http.get('/api/v1/data?symbol=AAPL').set('Accept', 'text/csv');
      const json2 = await t.http.get('/api/v1/data?symbol=AAPL').set('Accept', 'application/json');
      const csv2 = await t.http.get('/api/v1/data?symbol=AAPL').set('Accept', 'text/csv');
      expect(json1.headers['content-type']).toMatch(/^application\/json/);
      expect(json2.body).toEqual(json1.body);
      expect(csv1.text).toMatch(/^symbol,date,/);
      expect(csv2.text).toBe(csv1.text);
      expect(csv1.headers.etag).not.toBe(json1.headers.etag);
      expect(json1.headers.vary).toMatch(/\bAccept\b/);
      // A conditional CSV request is answered from the CSV's own ETag.
      await t.http
        .get('/api/v1/data?symbol=AAPL')
        .set('Accept', 'text/csv')
        .set('If-None-Match', csv1.headers.etag)
        .expect(304);
    });

    it('a browser-style Accept gets JSON; one allowing neither JSON nor CSV is 406', async () => {
      const browser = await t.http
        .get('/api/v1/data')
        .set('Accept', 'text/html,application/xhtml+xml,*/*;q=0.8')
        .expect(200);
      expect(browser.headers['content-type']).toMatch(/^application\/json/);
      const res = await t.http.get('/api/v1/data').set('Accept', 'application/xml').expect(406);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ code: 'NOT_ACCEPTABLE', status: 406 });
      expect(res.body.detail).toMatch(/text\/csv/);
    });
  });
});
