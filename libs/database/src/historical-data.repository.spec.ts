import type { AppConfig } from '@app/config';
import type { Readable } from 'node:stream';
import type { DataSource, QueryRunner } from 'typeorm';
import { TsvChunk } from './bar-tsv.chunk';
import type { DataChanges } from './data-changes';
import { BulkMode, HistoricalDataRepository, WriteHint } from './historical-data.repository';
import type { SymbolsRepository } from './symbols.repository';
import { DataChanges as RealDataChanges } from './data-changes';
import { LoadCountError, TransactionRunner, WriteRaceError } from './transaction.runner';

const bars = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    symbol: 'AAA',
    date: new Date(Date.UTC(2000, 0, 3) + i * 86_400_000).toISOString().slice(0, 10),
    open: 1,
    high: 2,
    low: 1,
    close: 1.5,
    adjClose: null,
    volume: i,
  }));

type Answer = { affectedRows?: number } | Error;

/**
 * A MySQL transaction whose LOAD DATA statements read their whole file, then answer what
 * `answers` says in turn (a row count, or an error); other statements answer 1 affected row per
 * row staged, as the merge would.
 */
/** What the fake answers a plain statement (the merge's affected rows, a SELECT's rows). */
type Respond = (sql: string) => unknown;

function fakeTx(answers: Answer[], respond: Respond = () => ({ affected: 0, records: [] })) {
  const log: string[] = [];
  const files: Readable[] = [];
  const conn = {
    query(
      options: { sql: string; infileStreamFactory: () => Readable },
      callback: (err: Error | null, result?: { affectedRows?: number }) => void,
    ) {
      const file = options.infileStreamFactory();
      files.push(file);
      log.push(options.sql.includes('bulk_staging') ? 'load staging' : 'load');
      const answer = answers.shift()!;
      // A failure comes while the file is still being sent; a count once it has all been read.
      if (answer instanceof Error) setImmediate(() => callback(answer));
      else file.once('end', () => callback(null, answer));
      file.on('data', () => undefined);
    },
    destroy: () => log.push('destroy'),
  };
  const tx = {
    databaseConnection: conn,
    query: (sql: string) => {
      log.push(sql.split(' ').slice(0, 2).join(' '));
      // The server's max_heap_table_size: the default, so staging is a MEMORY table.
      if (sql.includes('@@max_heap_table_size')) return Promise.resolve([{ v: 16777216 }]);
      if (sql.startsWith('SHOW VARIABLES')) return Promise.resolve([]);
      return Promise.resolve(respond(sql));
    },
  } as unknown as QueryRunner;
  return { tx, log, files };
}

const repository = () =>
  new HistoricalDataRepository(
    { options: { type: 'mysql' } } as DataSource,
    {} as TransactionRunner,
    {} as AppConfig,
    { touched: () => undefined } as unknown as DataChanges,
    { grew: () => undefined } as unknown as SymbolsRepository,
  );

async function load(
  answers: Answer[],
  rows = 100,
  respond?: Respond,
  add: (chunk: TsvChunk) => Promise<void> = (chunk) => chunk.add(bars(rows)),
  mode: BulkMode = 'skip',
  hint?: WriteHint,
) {
  const { tx, log, files } = fakeTx(answers, respond);
  const chunk = new TsvChunk();
  const done = repository()
    .loadChunk(tx, chunk, mode, hint)
    .then(
      (counts) => ({ counts, err: undefined }),
      (err: unknown) => ({ counts: undefined, err }),
    );
  await add(chunk);
  chunk.end();
  return { ...(await done), log, files, tx };
}

describe('HistoricalDataRepository.loadChunk counts every load against the rows sent', () => {
  it('a direct load that stored every row sent is the chunk', async () => {
    const { counts, err } = await load([{ affectedRows: 100 }]);
    expect(err).toBeUndefined();
    expect(counts).toEqual({ inserted: 100, updated: 0, skipped: 0 });
  });

  it('a direct load that stored more rows than sent fails the chunk (a foreign file)', async () => {
    const { err } = await load([{ affectedRows: 101 }]);
    expect(err).toBeInstanceOf(LoadCountError);
  });

  it('a staging load short of the rows sent fails the chunk instead of counting them skipped', async () => {
    // The direct load skipped some (stored pairs?): on to staging, which read a short file.
    const { err, log } = await load([{ affectedRows: 60 }, { affectedRows: 99 }]);
    expect(err).toBeInstanceOf(LoadCountError);
    expect((err as Error).message).toBe('LOAD DATA into staging stored 99 row(s) of the 100 sent');
    expect(log).not.toContain('INSERT INTO');
  });

  it('a chunk mixing new and stored pairs over two symbols counts each after the merge, never rolling it back', async () => {
    // 100 rows, 50 per symbol: the direct load stores 60, so on to staging; the merge inserts 60.
    const two = (chunk: TsvChunk) =>
      chunk.add([...bars(50), ...bars(50).map((b) => ({ ...b, symbol: 'BBB' }))]);
    const respond: Respond = (sql) =>
      /^INSERT (IGNORE )?INTO historical_data/.test(sql)
        ? { affected: 60 }
        : sql.includes('@bulk_merge_at GROUP BY')
          ? [
              { symbol: 'AAA', n: 50 },
              { symbol: 'BBB', n: 10 },
            ]
          : { affected: 0 };
    const { counts, err, log } = await load(
      [{ affectedRows: 60 }, { affectedRows: 100 }],
      100,
      respond,
      two,
    );
    expect(err).toBeUndefined();
    expect(counts).toEqual({ inserted: 60, updated: 0, skipped: 40 });
    // On MariaDB Galera a rollback to a savepoint after reading the staging table replicates
    // the rolled-back rows: the merge runs once.
    expect(log.slice(log.indexOf('load staging'))).not.toContain('ROLLBACK TO');
    expect(log.filter((l) => l.startsWith('INSERT'))).toHaveLength(1);
  });

  it('a LOAD DATA that fails closes its connection and stops reading its file', async () => {
    const failure = Object.assign(new Error('Deadlock found'), { errno: 1213 });
    const { err, log, files } = await load([failure]);
    expect(err).toBe(failure);
    expect(log).toContain('destroy');
    expect(files[0].destroyed).toBe(true);
  });

  it('a LOAD DATA answered without a row count (a re-requested file) closes its connection', async () => {
    const { err, log } = await load([{}]);
    expect((err as Error).message).toBe('LOAD DATA answered without a row count');
    expect(log).toContain('destroy');
  });
});

describe('HistoricalDataRepository.loadChunk, onConflict=update: UPDATE the stored pairs, INSERT the rest', () => {
  const one = (chunk: TsvChunk) => chunk.add(bars(100));
  /** The direct load stores 0 (all 100 stored?): on to staging, where the merge meets `merge`. */
  const update = (merge: { updated: number; inserted: number | Error }) =>
    load(
      [{ affectedRows: 0 }, { affectedRows: 100 }],
      100,
      (sql) => {
        if (sql.startsWith('UPDATE historical_data')) return { affected: merge.updated };
        if (sql.startsWith('INSERT INTO historical_data')) {
          if (merge.inserted instanceof Error) throw merge.inserted;
          return { affected: merge.inserted };
        }
        return { affected: 0 };
      },
      one,
      'update',
    );

  it('every staged pair stored: one UPDATE, no INSERT', async () => {
    const { counts, err, log } = await update({ updated: 100, inserted: 0 });
    expect(err).toBeUndefined();
    expect(counts).toEqual({ inserted: 0, updated: 100, skipped: 0 });
    expect(log.filter((l) => l.startsWith('INSERT'))).toHaveLength(0);
  });

  it('some stored: the UPDATE counts the updated, the INSERT the inserted', async () => {
    const { counts, err } = await update({ updated: 40, inserted: 60 });
    expect(err).toBeUndefined();
    expect(counts).toEqual({ inserted: 60, updated: 40, skipped: 0 });
  });

  it('a pair stored by a concurrent writer between the two is a race (retried), not a 500', async () => {
    const dup = Object.assign(new Error('Duplicate entry'), { code: 'ER_DUP_ENTRY' });
    expect((await update({ updated: 40, inserted: dup })).err).toBeInstanceOf(WriteRaceError);
    // Counts that do not add up to the chunk are a race too.
    expect((await update({ updated: 40, inserted: 59 })).err).toBeInstanceOf(WriteRaceError);
  });
});

describe('HistoricalDataRepository.loadChunk, a chunk whose first pair is stored (a re-upload)', () => {
  const firstPair = { symbol: 'AAA', date: '2000-01-03' };
  const probe = (stored: boolean) =>
    load(
      [{ affectedRows: 100 }],
      100,
      (sql) =>
        sql.startsWith('SELECT 1 AS found')
          ? stored
            ? [{ found: 1 }]
            : []
          : sql.startsWith('UPDATE historical_data')
            ? { affected: 100 }
            : { affected: 0 },
      undefined,
      'update',
      { firstPair },
    );

  it('goes straight to staging: no direct attempt that would try every row as an insert', async () => {
    const { counts, err, log } = await probe(true);
    expect(err).toBeUndefined();
    expect(counts).toEqual({ inserted: 0, updated: 100, skipped: 0 });
    expect(log).not.toContain('load');
    expect(log).toContain('load staging');
  });

  it('not stored: the direct load, as for a first upload', async () => {
    const { counts, log } = await probe(false);
    expect(counts).toEqual({ inserted: 100, updated: 0, skipped: 0 });
    expect(log).toContain('load');
    expect(log).not.toContain('load staging');
  });
});

/**
 * The Galera rule for TransactionRunner.step (the atomic upload's per-batch retry from a
 * savepoint): no ROLLBACK TO SAVEPOINT once the transaction read a temporary table.
 */
describe('a savepoint rollback never follows a read of the staging table', () => {
  const runner = () =>
    new TransactionRunner({ options: { type: 'mysql' } } as DataSource, new RealDataChanges());
  const race = () => Promise.reject(new WriteRaceError());

  it('the staging path marks its transaction: a step there fails instead of rolling back', async () => {
    const { tx, log } = await load(
      [{ affectedRows: 0 }, { affectedRows: 100 }],
      100,
      (sql) => (sql.startsWith('UPDATE historical_data') ? { affected: 100 } : { affected: 0 }),
      undefined,
      'update',
    );
    expect(log).toContain('load staging');
    await expect(runner().step(tx, race)).rejects.toBeInstanceOf(WriteRaceError);
    expect(log.slice(log.indexOf('load staging'))).not.toContain('ROLLBACK TO');
  });

  it.each(['update', 'skip', 'error'] as const)(
    'the batched path (upsertBatch, LOAD DATA, onConflict=%s) never reads it, so its step may roll back',
    async (mode) => {
      const { tx, log } = fakeTx([{ affectedRows: 60 }], () => ({ affected: 140 }));
      const repo = new HistoricalDataRepository(
        {
          options: { type: 'mysql' },
          query: () => Promise.resolve([{ v: 1 }]),
        } as unknown as DataSource,
        {} as TransactionRunner,
        { database: { dialect: 'mysql', loadData: 'auto' } } as AppConfig,
        { touched: () => undefined } as unknown as DataChanges,
        { grew: () => undefined } as unknown as SymbolsRepository,
      );
      // 100 bars of which 40 are stored: the load stores 60.
      await repo.upsertBatch(tx, bars(100), mode).catch(() => undefined);
      expect(log).toContain('load');
      expect(log.join('\n')).not.toMatch(/staging|TEMPORARY/);
      let attempts = 0;
      await runner().step(tx, () => (++attempts === 1 ? race() : Promise.resolve()));
      expect(log).toContain('ROLLBACK TO');
    },
  );
});
