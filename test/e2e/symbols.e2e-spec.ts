import { bar, describeEachDialect, TestApp } from './support/test-app';

interface Summary {
  symbol: string;
  firstDate: string;
  lastDate: string;
  bars: number;
}

const DAY = 86_400_000;
const day = (base: string, offset: number) =>
  new Date(Date.parse(`${base}T00:00:00Z`) + offset * DAY).toISOString().slice(0, 10);

/** Weekday bars of `symbol` from `from`, `count` calendar days long, with close = day index. */
function weekdays(
  symbol: string,
  from: string,
  count: number,
  skip: (i: number) => boolean = () => false,
) {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const date = day(from, i);
    const dow = new Date(`${date}T00:00:00Z`).getUTCDay();
    if (dow === 0 || dow === 6 || skip(i)) continue;
    out.push(bar({ symbol, date, open: 10 + i, high: 20 + i, low: 5, close: 11 + i, volume: i }));
  }
  return out;
}

/** What the catalogue must say: computed from the bars table itself, in the catalogue's order. */
async function truth(t: TestApp): Promise<Summary[]> {
  const rows = await t.dataSource.query<
    { symbol: string; first: string; last: string; n: number | string }[]
  >(
    'SELECT symbol, MIN(`date`) AS first, MAX(`date`) AS last, COUNT(*) AS n FROM historical_data GROUP BY symbol',
  );
  return rows
    .map((r) => ({ symbol: r.symbol, firstDate: r.first, lastDate: r.last, bars: Number(r.n) }))
    .sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
}

describeEachDialect(
  'symbol catalogue',
  (t) => {
    const catalogue = async (): Promise<Summary[]> =>
      (await t.http.get('/api/v1/symbols?limit=1000').expect(200)).body.data as Summary[];
    /** The catalogue (through the response cache) equals COUNT/MIN/MAX over the bars. */
    const expectExact = async (): Promise<void> => {
      const expected = await truth(t);
      expect(await catalogue()).toEqual(expected);
      // Each symbol's own routes (cached per symbol) agree too.
      for (const s of expected) {
        expect((await t.http.get(`/api/v1/symbols/${s.symbol}`).expect(200)).body).toEqual(s);
        const latest = await t.http.get(`/api/v1/symbols/${s.symbol}/latest`).expect(200);
        expect(latest.body.date).toBe(s.lastDate);
      }
    };

    it('lists symbols in symbol order, paged, with first/last date and bar count; one symbol; 404 for unknown', async () => {
      await t.http
        .post('/api/v1/data')
        .send([
          ...weekdays('MSFT', '2024-01-01', 10),
          ...weekdays('AAPL', '2024-01-01', 31),
          bar({ symbol: 'BRK.B', date: '2023-06-30' }),
        ])
        .expect(200);
      const res = await t.http.get('/api/v1/symbols?limit=2').expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers.etag).toBeDefined();
      expect(res.body).toEqual({
        data: [
          { symbol: 'AAPL', firstDate: '2024-01-01', lastDate: '2024-01-31', bars: 23 },
          { symbol: 'BRK.B', firstDate: '2023-06-30', lastDate: '2023-06-30', bars: 1 },
        ],
        pagination: { page: 1, limit: 2, total: 3, totalPages: 2 },
      });
      const page2 = await t.http.get('/api/v1/symbols?limit=2&page=2').expect(200);
      expect(page2.body.data.map((s: Summary) => s.symbol)).toEqual(['MSFT']);
      await t.http.get('/api/v1/symbols').set('If-None-Match', res.headers.etag).expect(200);
      const again = await t.http.get('/api/v1/symbols?limit=2').expect(200);
      await t.http
        .get('/api/v1/symbols?limit=2')
        .set('If-None-Match', again.headers.etag)
        .expect(304);

      expect((await t.http.get('/api/v1/symbols/msft').expect(200)).body).toEqual({
        symbol: 'MSFT',
        firstDate: '2024-01-01',
        lastDate: '2024-01-10',
        bars: 8,
      });
      const missing = await t.http.get('/api/v1/symbols/NOPE').expect(404);
      expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(missing.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
      await t.http.get('/api/v1/symbols/NOPE/latest').expect(404);
      await t.http.get('/api/v1/symbols/NOPE/gaps').expect(404);
    });

    it('answers the latest bar in the shape of GET /data/:id', async () => {
      await t.http
        .post('/api/v1/data')
        .send([
          bar({ date: '2024-01-02' }),
          bar({ date: '2024-01-05', adjClose: 184.1 }),
          bar({ date: '2024-01-03' }),
        ])
        .expect(200);
      const latest = await t.http.get('/api/v1/symbols/AAPL/latest').expect(200);
      expect(latest.body).toMatchObject({ symbol: 'AAPL', date: '2024-01-05', adjClose: 184.1 });
      const byId = await t.http.get(`/api/v1/data/${latest.body.id}`).expect(200);
      expect(latest.body).toEqual(byId.body);
    });

    it('finds runs of missing weekdays between the first and last bar', async () => {
      // 2024-03-04 (Mon) .. 2024-04-05: 2024-03-13..03-19 missing (5 weekdays), 2024-03-28 missing (1).
      const bars = weekdays('AAPL', '2024-03-04', 33, (i) => (i >= 9 && i <= 15) || i === 24);
      await t.http.post('/api/v1/data').send(bars).expect(200);
      const res = await t.http.get('/api/v1/symbols/aapl/gaps').expect(200);
      expect(res.body).toEqual({
        symbol: 'AAPL',
        data: [{ start: '2024-03-13', end: '2024-03-19', businessDays: 5 }],
      });
      const all = await t.http.get('/api/v1/symbols/AAPL/gaps?min_business_days=1').expect(200);
      expect(all.body.data).toEqual([
        { start: '2024-03-13', end: '2024-03-19', businessDays: 5 },
        { start: '2024-03-28', end: '2024-03-28', businessDays: 1 },
      ]);
      expect((await t.http.get('/api/v1/symbols/AAPL/gaps?min_business_days=6')).body.data).toEqual(
        [],
      );
    });

    it('refuses bad parameters with one problem+json naming each', async () => {
      const res = await t.http.get('/api/v1/symbols?page=0&limit=5000&sort=asc').expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_ERROR' });
      expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'limit',
        'page',
        'sort',
      ]);
      const gaps = await t.http.get('/api/v1/symbols/AAPL/gaps?min_business_days=0').expect(400);
      expect(gaps.body.errors).toEqual([
        { field: 'min_business_days', message: expect.stringContaining('between 1 and') },
      ]);
      const symbol = await t.http.get('/api/v1/symbols/A%20B!').expect(400);
      expect(symbol.body.errors).toEqual([{ field: 'symbol', message: expect.any(String) }]);
    });

    it('stays exact (and fresh through the cache) after every kind of write', async () => {
      await expectExact();
      // JSON bulk: more than one 2000-row batch, several symbols.
      const first = [
        ...weekdays('AAA', '2015-01-01', 2000),
        ...weekdays('BBB', '2016-01-01', 1500),
      ];
      await t.http.post('/api/v1/data').send(first).expect(200);
      await expectExact();
      await catalogue(); // cached now
      // A batch mixing stored and new pairs over several symbols (the recount path), and a new symbol.
      const mixed = [
        ...weekdays('AAA', '2020-06-01', 40),
        ...weekdays('BBB', '2015-06-01', 400),
        ...weekdays('CCC', '2010-01-01', 5),
      ];
      const report = await t.http.post('/api/v1/data').send(mixed).expect(200);
      expect(report.body.inserted).toBeGreaterThan(0);
      expect(report.body.updated).toBeGreaterThan(0);
      await expectExact();
      await t.http
        .post('/api/v1/data?onConflict=skip')
        .send(weekdays('CCC', '2009-12-25', 14))
        .expect(200);
      await expectExact();
      await t.http
        .post('/api/v1/data?onConflict=error')
        .send([
          bar({ symbol: 'CCC', date: '2009-12-01' }),
          bar({ symbol: 'CCC', date: '2010-01-04' }),
        ])
        .expect(200);
      await expectExact();

      // CSV upload, synchronous and atomic, then asynchronous.
      const csv = (symbol: string, from: string, n: number) =>
        'symbol,date,open,high,low,close,volume\n' +
        weekdays(symbol, from, n)
          .map((b) =>
            ['symbol', 'date', 'open', 'high', 'low', 'close', 'volume']
              .map((k) => String(b[k]))
              .join(','),
          )
          .join('\n');
      await t.http
        .post('/api/v1/data/upload')
        .set('Content-Type', 'text/csv')
        .send(csv('DDD', '2001-01-01', 30))
        .expect(200);
      await expectExact();
      await t.http
        .post('/api/v1/data/upload?atomic=true')
        .set('Content-Type', 'text/csv')
        .send(csv('DDD', '2000-12-01', 60))
        .expect(200);
      await expectExact();
      const queued = await t.http
        .post('/api/v1/data/upload')
        .set('Content-Type', 'text/csv')
        .set('Prefer', 'respond-async')
        .send(csv('EEE', '1999-01-01', 3000))
        .expect(202);
      for (let i = 0; i < 100; i++) {
        const status = (await t.http.get(queued.headers.location).expect(200)).body
          .status as string;
        if (status === 'completed') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await expectExact();

      // PUT moving a bar to another symbol and date; PATCH moving one to a later date.
      const [firstAaa] = (await t.http.get('/api/v1/data?symbol=AAA&limit=1').expect(200)).body
        .data;
      await t.http
        .put(`/api/v1/data/${firstAaa.id}`)
        .send(bar({ symbol: 'FFF', date: '1990-01-02' }))
        .expect(200);
      await expectExact();
      const [lastBbb] = (await t.http.get('/api/v1/data?symbol=BBB&sort=desc&limit=1').expect(200))
        .body.data;
      await t.http.patch(`/api/v1/data/${lastBbb.id}`).send({ date: '2024-05-01' }).expect(200);
      await expectExact();
      await t.http.patch(`/api/v1/data/${lastBbb.id}`).send({ date: '2015-05-30' }).expect(200);
      await expectExact();

      // DELETE one (the only FFF bar: the symbol leaves the catalogue), bulk DELETE by symbol and by dates.
      const [fff] = (await t.http.get('/api/v1/data?symbol=FFF').expect(200)).body.data;
      await t.http.delete(`/api/v1/data/${fff.id}`).expect(204);
      await t.http.get('/api/v1/symbols/FFF').expect(404);
      await expectExact();
      await t.http
        .delete('/api/v1/data?symbol=AAA&start_date=2015-01-01&end_date=2016-06-30')
        .expect(200);
      await expectExact();
      await t.http.delete('/api/v1/data?start_date=2009-01-01&end_date=2015-12-31').expect(200);
      await expectExact();
      await t.http.delete('/api/v1/data?symbol=DDD').expect(200);
      await t.http.get('/api/v1/symbols/DDD').expect(404);
      await expectExact();
      expect((await catalogue()).map((s) => s.symbol)).toEqual(['AAA', 'BBB', 'EEE']);
    });

    it('stays exact under concurrent writers to the same symbols', async () => {
      const batches = [0, 1, 2, 3].map((k) => [
        ...weekdays('XXX', day('2020-01-01', k * 20), 40),
        ...weekdays('YYY', day('2020-01-01', k * 20), 40),
      ]);
      const results = await Promise.all(batches.map((b) => t.http.post('/api/v1/data').send(b)));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      await expectExact();
    });
  },
  // The machine running the suite may be busy: event-loop lag must not shed these requests.
  { OVERLOAD_MAX_EVENT_LOOP_LAG_MS: '60000' },
);
