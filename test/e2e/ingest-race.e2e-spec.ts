import { BarRecord, HistoricalDataRepository } from '@app/database';
import type { QueryRunner } from 'typeorm';
import { bar, describeEachDialect, TestApp } from './support/test-app';

const HEADER = 'symbol,date,open,high,low,close,volume\n';
const day = (i: number): string =>
  new Date(Date.UTC(2001, 0, 2) + i * 86_400_000).toISOString().slice(0, 10);
/** `n` rows of RACE from day 0; the race is on day 5 (line 7 of the file). */
const file = (n = 10): string => {
  let out = HEADER;
  for (let i = 0; i < n; i++) out += `RACE,${day(i)},10,12,9,11,${1000 + i}\n`;
  return out;
};
const RACED = { symbol: 'RACE', date: day(5) };

/**
 * Runs `main` while `between` is set to run once, right after the first look for stored pairs
 * inside a transaction that matches `when`: the moment a concurrent writer can slip in between
 * a look and the write it decides (MySQL: the look is a plain read, nothing holds the other
 * writer back). Answers what `between` answered.
 */
async function racing<T>(
  t: TestApp,
  when: (bars: readonly BarRecord[]) => boolean,
  between: () => Promise<T>,
  main: () => Promise<void>,
): Promise<T | undefined> {
  const repository = t.app.get(HistoricalDataRepository);
  const look = repository.findExistingKeys.bind(repository);
  let armed = true;
  let answer: T | undefined;
  const spy = jest
    .spyOn(repository, 'findExistingKeys')
    .mockImplementation(async (bars: readonly BarRecord[], tx?: QueryRunner, latest?: boolean) => {
      const found = await look(bars, tx, latest);
      if (armed && tx && when(bars)) {
        armed = false;
        answer = await between();
      }
      return found;
    });
  try {
    await main();
  } finally {
    spy.mockRestore();
  }
  return answer;
}

const hasRaced = (bars: readonly BarRecord[]) =>
  bars.some((b) => b.symbol === RACED.symbol && b.date === RACED.date);

/**
 * A JSON insert and a CSV upload of the same (symbol, date) at the same moment, on MySQL (on
 * SQLite every write transaction holds the write lock from its look to its commit: no race).
 * Whichever loses the race reports the pair per row (ALREADY_EXISTS) or retries; never a 500,
 * never the driver's duplicate-key error.
 */
describeEachDialect('a concurrent insert racing an upload (onConflict=error)', (t) => {
  const mysqlIt = t.dialect === 'mysql' ? it : it.skip;
  const upload = (query: string) =>
    t.http
      .post(`/api/v1/data/upload?onConflict=error${query}`)
      .set('Content-Type', 'text/csv')
      .send(file());
  /** The upload, raced by the JSON insert: its answer reports the raced pair on its line. */
  const uploadRaced = async (query: string, status: number, counts: Record<string, unknown>) => {
    const res = await upload(query);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject(counts);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ line: 7, code: 'ALREADY_EXISTS', value: RACED.date }),
    ]);
  };
  const insertRaced = () =>
    t.http.post('/api/v1/data').send([bar({ ...RACED, open: 10, high: 12, low: 9, close: 11 })]);

  mysqlIt(
    'a JSON insert committed between the upload’s look and its write: the row is ALREADY_EXISTS, the rest inserted',
    async () => {
      const json = await racing(t, hasRaced, insertRaced, () =>
        uploadRaced('', 200, { rows: 10, inserted: 9, updated: 0, failed: 1 }),
      );
      expect(json?.status).toBe(200);
      expect(json?.body).toMatchObject({ inserted: 1 });
      expect(await t.count()).toBe(10);
    },
  );

  mysqlIt(
    'atomic=true: the batch that met the concurrent insert is retried, the pair reported per row, nothing of the file written',
    async () => {
      const json = await racing(t, hasRaced, insertRaced, () =>
        uploadRaced('&atomic=true', 422, { code: 'ROWS_REJECTED', inserted: 0, failed: 1 }),
      );
      expect(json?.status).toBe(200);
      // The JSON insert alone.
      expect(await t.rows()).toHaveLength(1);
    },
  );

  mysqlIt(
    'a CSV upload committed between a JSON insert’s look and its write: the JSON retries and reports ALREADY_EXISTS',
    async () => {
      // The JSON request's look (one bar) lets the whole upload through before its write.
      const csv = await racing(
        t,
        (bars) => bars.length === 1 && hasRaced(bars),
        () => upload(''),
        async () => {
          const res = await t.http
            .post('/api/v1/data?onConflict=error')
            .send([bar({ ...RACED, open: 10, high: 12, low: 9, close: 11 })]);
          expect(res.status).toBe(422);
          expect(res.body).toMatchObject({ code: 'ROWS_REJECTED', failed: 1 });
          expect(res.body.errors).toEqual([
            expect.objectContaining({ index: 0, code: 'ALREADY_EXISTS' }),
          ]);
        },
      );
      expect(csv?.status).toBe(200);
      expect(csv?.body).toMatchObject({ inserted: 10, failed: 0 });
    },
  );

  it('sent together, whichever goes first: both answer 200 and the pair is stored once', async () => {
    const [res, json] = await Promise.all([upload(''), insertRaced()]);
    expect(res.status).toBe(200);
    expect(json.status).toBe(200);
    expect(await t.count()).toBe(10);
  });
});

/**
 * A re-upload's chunk merges in two statements (UPDATE … JOIN, then INSERT … SELECT of the new
 * pairs): a JSON insert of one of its new pairs sent in between. Under REPEATABLE READ the
 * UPDATE's failed lookups hold the gaps, so the insert waits for the chunk's commit and then
 * updates; had it got in first, the chunk's INSERT meets the duplicate and the chunk is run
 * again. Either way every count is exact: the pair is inserted once, by one of the two.
 */
describeEachDialect('a concurrent insert while a re-upload merges its chunk', (t) => {
  const streamed = t.dialect === 'mysql' && t.baseOverrides.DB_LOAD_DATA !== 'off';
  (streamed ? it : it.skip)(
    'the pair is inserted once, the upload and the JSON insert each count it exactly',
    async () => {
      const put = (n: number) =>
        t.http.post('/api/v1/data/upload').set('Content-Type', 'text/csv').send(file(n));
      await put(10).expect(200);
      const repository: {
        insertStaged: (tx: QueryRunner, ignore: boolean) => Promise<number>;
      } = t.app.get(HistoricalDataRepository, { strict: false });
      const insertStaged = repository.insertStaged.bind(repository);
      let json: Promise<{ status: number; body: Record<string, number> }> | undefined;
      const spy = jest
        .spyOn(repository, 'insertStaged')
        .mockImplementation(async (tx: QueryRunner, ignore: boolean) => {
          if (!json) {
            // Day 15: one of the re-upload's new pairs. Sent, not awaited: it may have to wait
            // for this chunk's commit.
            json = t.http
              .post('/api/v1/data')
              .send([bar({ symbol: 'RACE', date: day(15), open: 10, high: 12, low: 9, close: 11 })])
              .then((r) => ({ status: r.status, body: r.body as Record<string, number> }));
            await new Promise((resolve) => setTimeout(resolve, 300));
          }
          return insertStaged(tx, ignore);
        });
      let res;
      try {
        res = await put(20);
      } finally {
        spy.mockRestore();
      }
      const other = await json!;
      expect(res.status).toBe(200);
      expect(other.status).toBe(200);
      const { inserted, updated } = res.body as Record<string, number>;
      expect(inserted + updated).toBe(20);
      expect(other.body.inserted + other.body.updated).toBe(1);
      // Ten new pairs in all, each inserted by exactly one of the two writers.
      expect(inserted + other.body.inserted).toBe(10);
      expect(await t.count()).toBe(20);
      const catalogue = await t.http.get('/api/v1/symbols/RACE').expect(200);
      expect(catalogue.body).toMatchObject({ bars: 20 });
    },
  );
});
