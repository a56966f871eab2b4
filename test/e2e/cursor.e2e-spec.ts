import { bar, describeEachDialect } from './support/test-app';

const SYMBOLS = ['AAA', 'BBB', 'CCC'];
/** 3 symbols x 20 weekdays, with holes so symbols do not all share dates. */
function bars() {
  const out: Record<string, unknown>[] = [];
  for (let d = 0; d < 28; d++) {
    const date = new Date(Date.UTC(2024, 0, 1 + d));
    if (date.getUTCDay() === 0 || date.getUTCDay() === 6) continue;
    SYMBOLS.forEach((symbol, i) => {
      if ((d + i) % 5 === 0) return;
      out.push(bar({ symbol, date: date.toISOString().slice(0, 10), close: 185 + d / 10 }));
    });
  }
  return out;
}

interface Page {
  data: { id: number; symbol: string; date: string }[];
  pagination: {
    page: number;
    limit: number;
    total: number;
    totalPages: number;
    nextCursor: string | null;
  };
}

describeEachDialect('multi-symbol lists and cursor pagination', (t) => {
  let expected: number;
  beforeEach(async () => {
    await t.truncate();
    const all = bars();
    expected = all.length;
    await t.http.post('/api/v1/data').send(all).expect(200);
    await t.http
      .post('/api/v1/data')
      .send([bar({ symbol: 'ZZZ' })])
      .expect(200);
  });

  const walk = async (query: string): Promise<Page[]> => {
    const pages: Page[] = [];
    let url = `/api/v1/data?${query}`;
    for (let i = 0; i < 100; i++) {
      const page = (await t.http.get(url).expect(200)).body as Page;
      pages.push(page);
      if (page.pagination.nextCursor === null) break;
      url = `/api/v1/data?${query}&cursor=${encodeURIComponent(page.pagination.nextCursor)}`;
    }
    return pages;
  };

  it('symbols= lists bars of those symbols only, ordered by date then symbol', async () => {
    const res = await t.http.get('/api/v1/data?symbols=ccc,AAA&limit=1000').expect(200);
    const rows = (res.body as Page).data;
    expect(new Set(rows.map((r) => r.symbol))).toEqual(new Set(['AAA', 'CCC']));
    const keys = rows.map((r) => `${r.date} ${r.symbol}`);
    expect(keys).toEqual([...keys].sort());
    expect((res.body as Page).pagination.total).toBe(rows.length);
  });

  it.each([
    ['asc', 'symbols=AAA,BBB,CCC&limit=7'],
    ['desc', 'symbols=AAA,BBB,CCC&limit=7&sort=desc'],
    ['one symbol', 'symbol=BBB&limit=4'],
    ['no filter, date range', 'start_date=2024-01-05&end_date=2024-01-20&limit=5&sort=desc'],
  ])(
    'a cursor walk (%s) returns every bar exactly once, in order, and ends with nextCursor null',
    async (_, query) => {
      const offsetPages = (
        await t.http.get(`/api/v1/data?${query.replace(/limit=\d+/, 'limit=1000')}`).expect(200)
      ).body as Page;
      const pages = await walk(query);
      const ids = pages.flatMap((p) => p.data.map((b) => b.id));
      expect(ids).toEqual(offsetPages.data.map((b) => b.id));
      expect(new Set(ids).size).toBe(ids.length);
      const limit = Number(/limit=(\d+)/.exec(query)![1]);
      expect(pages.length).toBe(Math.ceil(ids.length / limit));
      pages.forEach((p, i) => {
        expect(p.pagination).toMatchObject({ page: i + 1, limit, total: ids.length });
      });
      expect(pages.at(-1)!.pagination.nextCursor).toBeNull();
    },
  );

  it('page mode carries nextCursor too; a cursor from page 1 continues where page 1 ended', async () => {
    const first = (await t.http.get('/api/v1/data?symbols=AAA,BBB,CCC&limit=10').expect(200))
      .body as Page;
    expect(first.pagination.total).toBe(expected);
    const viaCursor = (
      await t.http
        .get(
          `/api/v1/data?symbols=AAA,BBB,CCC&limit=10&page=7&cursor=${first.pagination.nextCursor}`,
        )
        .expect(200)
    ).body as Page;
    const page2 = (await t.http.get('/api/v1/data?symbols=AAA,BBB,CCC&limit=10&page=2').expect(200))
      .body as Page;
    expect(viaCursor.data).toEqual(page2.data);
    expect(viaCursor.pagination).toMatchObject({ page: 2, total: expected });
  });

  it('refuses an altered cursor, or one reused with another filter or sort, with 400 INVALID_CURSOR', async () => {
    const first = (await t.http.get('/api/v1/data?symbol=AAA&limit=3').expect(200)).body as Page;
    const cursor = first.pagination.nextCursor!;
    const [payload, digest] = cursor.split('.');
    const altered = `${payload.slice(0, -2)}${payload.slice(-2) === 'AA' ? 'AB' : 'AA'}.${digest}`;
    for (const url of [
      `/api/v1/data?symbol=AAA&limit=3&cursor=${altered}`,
      `/api/v1/data?symbol=BBB&limit=3&cursor=${cursor}`,
      `/api/v1/data?symbol=AAA&limit=3&sort=desc&cursor=${cursor}`,
      `/api/v1/data?symbol=AAA&start_date=2024-01-02&limit=3&cursor=${cursor}`,
      '/api/v1/data?symbol=AAA&cursor=not-a-cursor',
    ]) {
      const res = await t.http.get(url).expect(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'INVALID_CURSOR', status: 400 });
    }
  });

  it('refuses symbol with symbols, more than 100 symbols, and bad symbols, naming the parameter', async () => {
    const both = await t.http.get('/api/v1/data?symbol=AAA&symbols=BBB').expect(400);
    expect(both.body.errors).toEqual([
      { field: 'symbols', message: 'give symbol or symbols, not both' },
    ]);
    const many = Array.from({ length: 101 }, (_, i) => `S${i}`).join(',');
    const tooMany = await t.http.get(`/api/v1/data?symbols=${many}`).expect(400);
    expect(tooMany.body.errors[0].field).toBe('symbols');
    await t.http.get('/api/v1/data?symbols=AAA,,BBB').expect(400);
    await t.http.get('/api/v1/data?symbols=A%20B').expect(400);
    // 100 is allowed.
    await t.http.get(`/api/v1/data?symbols=${many.split(',').slice(0, 100).join(',')}`).expect(200);
  });

  it('a cached list of several symbols is fresh after a write to one of them', async () => {
    const close = async () =>
      (
        (
          await t.http
            .get('/api/v1/data?symbols=AAA,BBB&start_date=2024-01-02&end_date=2024-01-02')
            .expect(200)
        ).body as { data: { symbol: string; close: number }[] }
      ).data.find((b) => b.symbol === 'BBB')?.close;
    const before = await close();
    expect(await close()).toBe(before);
    await t.http
      .post('/api/v1/data')
      .send([bar({ symbol: 'BBB', close: 188 })])
      .expect(200);
    expect(await close()).toBe(188);
  });
});
