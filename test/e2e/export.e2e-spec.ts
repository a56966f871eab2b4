import { BarExporter } from '@app/database';
import { request as httpRequest, IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { bar, describeEachDialect, TestApp } from './support/test-app';

const PROBLEM = /application\/problem\+json/;
const HEADER = 'symbol,date,open,high,low,close,adj_close,volume';

/** `n` bars over 100 symbols (S000..S099), as an upload CSV: the quickest way in on both dialects. */
function manyBarsCsv(n: number): string {
  const lines = ['symbol,date,open,high,low,close,volume'];
  for (let i = 0; i < n; i++) {
    const day = new Date(Date.UTC(2000, 0, 1) + Math.floor(i / 100) * 86_400_000);
    lines.push(
      `S${String(i % 100).padStart(3, '0')},${day.toISOString().slice(0, 10)},10.5,11.25,9.75,10.125,${1000 + i}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function seedMany(t: TestApp, n: number): Promise<void> {
  const res = await t.http
    .post('/api/v1/data/upload')
    .set('Content-Type', 'text/csv')
    .send(manyBarsCsv(n));
  expect(res.body).toMatchObject({ inserted: n });
}

const waitFor = async (what: string, check: () => Promise<boolean> | boolean, ms = 10_000) => {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Rows the export's cursor has read, once it has stopped advancing (the client is not reading). */
async function stalledRows(exporter: BarExporter): Promise<number> {
  await waitFor('an export to start', () => exporter.active.length === 1);
  let last = -1;
  for (;;) {
    const rows = exporter.active[0]?.rows ?? 0;
    if (rows === last && rows > 0) return rows;
    last = rows;
    await new Promise((r) => setTimeout(r, 400));
  }
}

/**
 * Opens an export and reads its first bytes, then stops reading: the server is left with a
 * client that does not keep up. Answers the response and a promise of how it ends.
 */
async function openPaused(
  t: TestApp,
  path: string,
): Promise<{ res: IncomingMessage; ended: Promise<'clean' | 'broken'>; received: () => number }> {
  const base = new URL(await t.url());
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: base.hostname, port: base.port, path }, (res) => {
      let received = 0;
      const ended = new Promise<'clean' | 'broken'>((settle) => {
        res.on('end', () => settle(res.complete ? 'clean' : 'broken'));
        res.on('error', () => settle('broken'));
        res.on('aborted', () => settle('broken'));
      });
      res.once('data', (chunk: Buffer) => {
        received += chunk.length;
        res.pause();
        res.on('data', (c: Buffer) => (received += c.length));
        resolve({ res, ended, received: () => received });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describeEachDialect(
  'GET /api/v1/data/export',
  (t) => {
    const post = (body: unknown) =>
      t.http
        .post('/api/v1/data')
        .set('Content-Type', 'application/json')
        .send(body as object)
        .expect(200);

    const seed = () =>
      post([
        bar({
          symbol: 'MSFT',
          date: '2024-01-03',
          open: 370,
          high: 373.5,
          low: 369.25,
          close: 372,
        }),
        bar({ date: '2024-01-03', adjClose: 184.25 }),
        bar({ symbol: 'BRK.B', open: 360.1, high: 361, low: 358, close: 359.99, volume: 3000000 }),
        bar({
          symbol: 'MSFT',
          date: '2024-01-02',
          open: 373,
          high: 375.9,
          low: 366.5,
          close: 370.87,
        }),
        bar({ adjClose: 185.1 }),
      ]);

    it('streams every bar as CSV, ordered by symbol then date, as an attachment', async () => {
      await seed();
      const res = await t.http.get('/api/v1/data/export').expect(200);
      expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).toBe('attachment; filename="bars_all.csv"');
      expect(res.headers.etag).toBeUndefined();
      expect(res.text).toBe(
        [
          HEADER,
          'AAPL,2024-01-02,187.15,188.44,183.89,185.64,185.1,82488700',
          'AAPL,2024-01-03,187.15,188.44,183.89,185.64,184.25,82488700',
          'BRK.B,2024-01-02,360.1,361,358,359.99,,3000000',
          'MSFT,2024-01-02,373,375.9,366.5,370.87,,82488700',
          'MSFT,2024-01-03,370,373.5,369.25,372,,82488700',
          '',
        ].join('\n'),
      );
    });

    it('serves NDJSON: one Bar per line, the same objects GET /api/v1/data answers', async () => {
      await seed();
      const res = await t.http
        .get('/api/v1/data/export?symbols=msft,AAPL&format=ndjson')
        .buffer(true)
        .parse((r, done) => {
          let text = '';
          r.on('data', (c: Buffer) => (text += c.toString()));
          r.on('end', () => done(null, text));
        })
        .expect(200);
      expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
      expect(res.headers['content-disposition']).toBe(
        'attachment; filename="bars_AAPL_MSFT.ndjson"',
      );
      const text = res.body as string;
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.trimEnd().split('\n');
      const list = await t.http.get('/api/v1/data?limit=1000').expect(200);
      const expected = (list.body.data as { symbol: string; date: string }[])
        .filter((b) => b.symbol !== 'BRK.B')
        .sort((a, b) => (a.symbol + a.date < b.symbol + b.date ? -1 : 1));
      expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(expected);
      expect(lines).toEqual(expected.map((b) => JSON.stringify(b)));
    });

    it('filters by symbol and an inclusive date range, and names the file after the filter', async () => {
      await seed();
      const res = await t.http
        .get('/api/v1/data/export?symbol=aapl&start_date=2024-01-03&end_date=2024-01-31')
        .expect(200);
      expect(res.text).toBe(
        `${HEADER}\nAAPL,2024-01-03,187.15,188.44,183.89,185.64,184.25,82488700\n`,
      );
      expect(res.headers['content-disposition']).toBe(
        'attachment; filename="bars_AAPL_2024-01-03_to_2024-01-31.csv"',
      );
      const from = await t.http.get('/api/v1/data/export?start_date=2024-01-03').expect(200);
      expect(from.text.split('\n').slice(1, -1)).toEqual([
        'AAPL,2024-01-03,187.15,188.44,183.89,185.64,184.25,82488700',
        'MSFT,2024-01-03,370,373.5,369.25,372,,82488700',
      ]);
      expect(from.headers['content-disposition']).toBe(
        'attachment; filename="bars_all_from_2024-01-03.csv"',
      );
    });

    it('answers the header alone (CSV) or nothing (NDJSON) when nothing matches', async () => {
      const csv = await t.http.get('/api/v1/data/export?symbol=NONE').expect(200);
      expect(csv.text).toBe(`${HEADER}\n`);
      const ndjson = await t.http.get('/api/v1/data/export?symbol=NONE&format=ndjson').expect(200);
      expect(ndjson.text ?? '').toBe('');
    });

    it('is never served from the response cache', async () => {
      await seed();
      await t.http.get('/api/v1/data/export?symbol=AAPL').expect(200);
      // Written behind the API's back: a cached export would not show it.
      await t.dataSource.query(
        "INSERT INTO historical_data (symbol, `date`, `open`, high, low, `close`, volume) VALUES ('AAPL', '2024-01-04', 1, 2, 1, 2, 5)",
      );
      const again = await t.http.get('/api/v1/data/export?symbol=AAPL').expect(200);
      expect(again.text).toMatch(/\nAAPL,2024-01-04,1,2,1,2,,5\n$/);
    });

    it('gzips both formats when the client asks, and the bytes inflate to the plain export', async () => {
      await seed();
      for (const format of ['csv', 'ndjson']) {
        const path = `/api/v1/data/export?format=${format}`;
        const plain = await t.http.get(path).set('Accept-Encoding', 'identity').expect(200);
        expect(plain.headers['content-encoding']).toBeUndefined();
        const gz = await t.http
          .get(path)
          .set('Accept-Encoding', 'gzip')
          .buffer(true)
          .parse((r, done) => {
            const chunks: Buffer[] = [];
            r.on('data', (c: Buffer) => chunks.push(c));
            r.on('end', () => done(null, Buffer.concat(chunks)));
          })
          .expect(200);
        expect(gz.headers['content-encoding']).toBe('gzip');
        expect(gz.headers.vary).toMatch(/Accept-Encoding/);
        // superagent inflates gzip itself; the body is what the client reads either way.
        const body = gz.body as Buffer;
        const text =
          body[0] === 0x1f && body[1] === 0x8b ? gunzipSync(body).toString() : body.toString();
        expect(text).toBe(plain.text);
      }
    });

    it.each([
      ['format=xml', 'format', /format must be csv or ndjson/],
      ['symbol=AAPL&symbols=MSFT', 'symbols', /symbol or symbols, not both/],
      [
        `symbols=${Array.from({ length: 101 }, (_, i) => `S${i}`).join(',')}`,
        'symbols',
        /1 to 100 symbols/,
      ],
      ['symbols=AAPL,,MSFT', 'symbols', /comma-separated list/],
      ['start_date=2024-02-30', 'start_date', /real date/],
      ['start_date=2024-02-01&end_date=2024-01-01', 'end_date', /not be before/],
      ['limit=10', 'limit', /not a known parameter/],
    ])('refuses %s with a 400 problem naming %s', async (query, field, message) => {
      const res = await t.http.get(`/api/v1/data/export?${query}`).expect(400);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.body).toMatchObject({ code: 'VALIDATION_ERROR', status: 400 });
      expect(res.body.errors).toEqual(
        expect.arrayContaining([{ field, message: expect.stringMatching(message) as string }]),
      );
    });

    it('accepts 100 symbols', async () => {
      const symbols = Array.from({ length: 100 }, (_, i) => `S${i}`).join(',');
      await t.http.get(`/api/v1/data/export?symbols=${symbols}`).expect(200);
    });

    // ~14 MB of CSV: past what the sockets buffer on both sides of the server (several MB each
    // between MariaDB and the app, and between the app and a client that stopped reading), so the
    // statement itself really has to wait.
    describe('a large export', () => {
      const TOTAL = 250_000;
      const SLOW = 180_000;

      it(
        'keeps pace with a slow client, and stops its query when the client leaves',
        async () => {
          await seedMany(t, TOTAL);
          const exporter = t.app.get(BarExporter);
          const { res, ended } = await openPaused(t, '/api/v1/data/export');
          try {
            expect(res.statusCode).toBe(200);
            // Backpressure: the cursor waits for the client instead of reading everything.
            expect(await stalledRows(exporter)).toBeLessThan(TOTAL);
            const threads = t.dialect === 'mysql' ? await exportThreads(t) : [];
            if (t.dialect === 'mysql') expect(threads).toHaveLength(1);

            res.destroy();
            expect(await ended).toBe('broken');
            await waitFor('the export cursor to close', () => exporter.active.length === 0);
            if (t.dialect === 'mysql') {
              // The statement is gone from the server, and so is its connection: a half-read
              // connection never goes back to the pool.
              await waitFor('the export connection to go', async () => {
                const left = await t.dataSource.query<unknown[]>(
                  'SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?',
                  [threads[0]],
                );
                return left.length === 0;
              });
            }
          } finally {
            res.destroy();
          }
          // The service goes on: reads, writes and another export answer normally.
          await t.http.get('/api/v1/data?limit=1').expect(200);
          await post([bar({ symbol: 'ZZZ' })]);
          const one = await t.http.get('/api/v1/data/export?symbol=S099').expect(200);
          expect(one.text.split('\n')).toHaveLength(TOTAL / 100 + 2);
        },
        SLOW,
      );

      it(
        'cuts the transfer, never ends it cleanly, when the database fails part way',
        async () => {
          await seedMany(t, TOTAL);
          const exporter = t.app.get(BarExporter);
          const { res, ended, received } = await openPaused(t, '/api/v1/data/export');
          try {
            await stalledRows(exporter);
            if (t.dialect === 'mysql') {
              const [thread] = await exportThreads(t);
              await t.dataSource.query(`KILL ${Number(thread)}`);
            } else {
              // The next chunk's statement fails: the table is gone for a moment.
              await t.dataSource.query(
                'ALTER TABLE historical_data RENAME TO historical_data_away',
              );
            }
            res.resume();
            expect(await ended).toBe('broken');
            expect(res.complete).toBe(false);
          } finally {
            res.destroy();
            if (t.dialect === 'sqlite')
              await t.dataSource.query(
                'ALTER TABLE historical_data_away RENAME TO historical_data',
              );
          }
          // Well short of everything (250,000 lines of ~55 bytes).
          expect(received()).toBeLessThan(TOTAL * 50);
          await waitFor('the export cursor to close', () => exporter.active.length === 0);
          await t.http.get('/api/v1/data/export?symbol=S001').expect(200);
        },
        SLOW,
      );
    });

    /** Server threads running an export statement (MySQL). */
    async function exportThreads(app: TestApp): Promise<number[]> {
      const rows = await app.dataSource.query<{ ID: number | string }[]>(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT id, symbol%ORDER BY symbol, `date`' AND DB = DATABASE()",
      );
      return rows.map((r) => Number(r.ID));
    }
    // The seeding CSVs are built in this process, and test machines are busy: event-loop lag here
    // is not the overload load shedding is about.
  },
  { OVERLOAD_MAX_EVENT_LOOP_LAG_MS: '0' },
);

describeEachDialect(
  'GET /api/v1/data/export, EXPORT_MAX_CONCURRENT=1',
  (t) => {
    it('refuses an export past the bound with 503 EXPORTS_BUSY and Retry-After, and takes one again once the first ends', async () => {
      await seedMany(t, 250_000);
      const exporter = t.app.get(BarExporter);
      const first = await openPaused(t, '/api/v1/data/export');
      try {
        expect(first.res.statusCode).toBe(200);
        await waitFor('the first export to run', () => exporter.active.length === 1);
        const refused = await t.http.get('/api/v1/data/export?symbol=S001').expect(503);
        expect(refused.headers['content-type']).toMatch(PROBLEM);
        expect(refused.headers['retry-after']).toBe('5');
        expect(refused.body).toMatchObject({
          status: 503,
          code: 'EXPORTS_BUSY',
          detail: expect.stringContaining('EXPORT_MAX_CONCURRENT') as unknown,
        });
        // Other reads are not bounded by it.
        await t.http.get('/api/v1/data?symbol=S001&limit=1').expect(200);
      } finally {
        first.res.destroy();
      }
      await waitFor('the first export to stop', () => exporter.active.length === 0);
      const next = await t.http.get('/api/v1/data/export?symbol=S001').expect(200);
      expect(next.text.split('\n')).toHaveLength(250_000 / 100 + 2);
      // Seeding 250,000 bars (so the first export outlasts the socket buffers) is most of it; a
      // loaded machine took more than 3 minutes for it on MySQL.
    }, 360_000);
  },
  { OVERLOAD_MAX_EVENT_LOOP_LAG_MS: '0', EXPORT_MAX_CONCURRENT: '1' },
);
