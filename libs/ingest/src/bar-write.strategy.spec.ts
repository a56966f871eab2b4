import type {
  BarRecord,
  HistoricalDataRepository,
  RunOptions,
  TransactionRunner,
  TsvChunk,
  WriteCounts,
} from '@app/database';
import { text } from 'node:stream/consumers';
import type { QueryRunner } from 'typeorm';
import { BatchResult, BatchWriter } from './bar-batch.writer';
import {
  BatchTarget,
  CHUNK_ROWS,
  DryRun,
  InFlightBatches,
  PerBatchCommit,
  SingleTransaction,
  StreamedChunks,
} from './bar-write.strategy';

const bar = (i: number, symbol = 'AAA'): BarRecord => ({
  symbol,
  date: new Date(Date.UTC(1950, 0, 1) + i * 86_400_000).toISOString().slice(0, 10),
  open: 1,
  high: 2,
  low: 1,
  close: 1.5,
  adjClose: null,
  volume: i,
});

/** A runner that hands out numbered fake transactions and records their options. */
function fakeRunner() {
  const runs: { tx: number; options?: RunOptions }[] = [];
  /** Steps run through TransactionRunner.step (a transaction that cannot run again). */
  const steps: unknown[] = [];
  const runner = {
    run: async <T>(work: (tx: QueryRunner) => Promise<T>, options?: RunOptions): Promise<T> => {
      const tx = runs.length + 1;
      runs.push({ tx, options });
      return work(tx as unknown as QueryRunner);
    },
    step: <T>(tx: unknown, step: (retry: boolean) => Promise<T>): Promise<T> => {
      steps.push(tx);
      return step(false);
    },
  } as unknown as TransactionRunner;
  return { runner, runs, steps };
}

/** A batch writer that "inserts" every bar and records which transaction wrote what. */
function fakeBatches() {
  const writes: { tx: unknown; rows: number }[] = [];
  const batches = {
    write: (tx: unknown, batch: BarRecord[]): Promise<BatchResult> => {
      writes.push({ tx, rows: batch.length });
      return Promise.resolve({
        counts: { inserted: batch.length, updated: 0, skipped: 0 },
        conflicts: [],
      });
    },
    predict: (batch: BarRecord[]): Promise<BatchResult> =>
      Promise.resolve({
        counts: { inserted: 0, updated: batch.length, skipped: 0 },
        conflicts: [],
      }),
  } as unknown as BatchWriter;
  return { batches, writes };
}

/** An ingest that writes `n` batches of `size` and sums what comes back. */
const ingestOf =
  (n: number, size: number, failed = 0) =>
  async (target: BatchTarget) => {
    const totals = { inserted: 0, updated: 0, skipped: 0, failed };
    for (let b = 0; b < n; b++) {
      const { counts } = await target.write(
        Array.from({ length: size }, (_, i) => bar(b * size + i)),
      );
      totals.inserted += counts.inserted;
      totals.updated += counts.updated;
    }
    await target.flush?.();
    return { ...totals, ...target.committed?.() };
  };

describe('PerBatchCommit', () => {
  it('commits each batch in its own transaction, the caller’s bookkeeping inside it', async () => {
    const { runner, runs } = fakeRunner();
    const { batches, writes } = fakeBatches();
    const inside: unknown[] = [];
    const after: WriteCounts[] = [];
    const strategy = new PerBatchCommit(
      runner,
      batches,
      {
        beforeCommit: (tx) => {
          inside.push(tx);
          return Promise.resolve();
        },
        afterCommit: (c) => after.push(c),
      },
      3,
    );
    const { report, rolledBack } = await strategy.run(ingestOf(3, 10));
    expect(rolledBack).toBe(false);
    expect(report.inserted).toBe(30);
    expect(writes.map((w) => w.tx)).toEqual([1, 2, 3]);
    expect(inside).toEqual([1, 2, 3]);
    expect(after).toHaveLength(3);
    expect(runs.every((r) => r.options?.operation === 'ingest_batch')).toBe(true);
  });
});

describe('SingleTransaction', () => {
  it('writes every batch in one transaction and commits the bookkeeping with them', async () => {
    const { runner, runs, steps } = fakeRunner();
    const { batches, writes } = fakeBatches();
    const hooked: WriteCounts[] = [];
    const strategy = new SingleTransaction(
      runner,
      batches,
      {
        beforeCommit: (_tx, c) => {
          hooked.push(c);
          return Promise.resolve();
        },
      },
      { allOrNothing: true, replayable: false },
    );
    const { report, rolledBack } = await strategy.run(ingestOf(2, 5));
    expect(rolledBack).toBe(false);
    expect(report.inserted).toBe(10);
    expect(new Set(writes.map((w) => w.tx))).toEqual(new Set([1]));
    expect(hooked).toEqual([{ inserted: 10, updated: 0, skipped: 0 }]);
    expect(runs[0].options).toMatchObject({ replayable: false });
    // Not replayable: each batch is a step that a concurrent insert retries on its own.
    expect(steps).toEqual([1, 1]);
  });

  it('all or nothing: a failed row rolls the transaction back, the report says so', async () => {
    const { runner } = fakeRunner();
    const { batches } = fakeBatches();
    const hook = jest.fn();
    const strategy = new SingleTransaction(
      runner,
      batches,
      { beforeCommit: hook },
      { allOrNothing: true, replayable: true },
    );
    const { report, rolledBack } = await strategy.run(ingestOf(1, 5, 1));
    expect(rolledBack).toBe(true);
    expect(report.failed).toBe(1);
    expect(hook).not.toHaveBeenCalled();
  });

  it('not all or nothing: failed rows are reported, the rest commits', async () => {
    const { runner } = fakeRunner();
    const { batches } = fakeBatches();
    const strategy = new SingleTransaction(
      runner,
      batches,
      {},
      { allOrNothing: false, replayable: true },
    );
    const { rolledBack } = await strategy.run(ingestOf(1, 5, 1));
    expect(rolledBack).toBe(false);
  });
});

describe('DryRun', () => {
  it('predicts each batch and opens no transaction', async () => {
    const { batches, writes } = fakeBatches();
    const { report } = await new DryRun(batches).run(ingestOf(2, 4));
    expect(report).toMatchObject({ inserted: 0, updated: 8 });
    expect(writes).toHaveLength(0);
  });
});

describe('InFlightBatches', () => {
  it('keeps at most `max` writes running and remembers the first failure', async () => {
    const pool = new InFlightBatches(2);
    let running = 0;
    let peak = 0;
    const work = (fail?: string) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (fail) throw new Error(fail);
    };
    for (let i = 0; i < 6; i++) await pool.add(work(i === 2 ? 'first' : i === 4 ? 'second' : ''));
    const failure = await pool.settle();
    expect(peak).toBe(2);
    expect((failure as Error).message).toBe('first');
  });
});

describe('StreamedChunks', () => {
  /** A repository whose chunk load reads the chunk's live stream to its end. */
  function fakeRepository(fail?: (chunk: number) => Error | undefined) {
    const loaded: { rows: number; lines: number; hint: unknown; afterConflicts: boolean }[] = [];
    /** Set by the test once a commit that met stored pairs was reported (afterCommit). */
    const state = { conflictsReported: false };
    const repository = {
      loadChunk: async (
        _tx: unknown,
        chunk: TsvChunk,
        _mode: string,
        hint: unknown,
      ): Promise<WriteCounts> => {
        const afterConflicts = state.conflictsReported;
        const body = await text(chunk.stream());
        const error = fail?.(loaded.length + 1);
        loaded.push({ rows: chunk.rows, lines: body.split('\n').length - 1, hint, afterConflicts });
        if (error) throw error;
        // The first chunk to finish "inserts"; the others find their rows stored.
        return loaded.length === 1
          ? { inserted: chunk.rows, updated: 0, skipped: 0 }
          : { inserted: 0, updated: chunk.rows, skipped: 0 };
      },
    } as unknown as HistoricalDataRepository;
    return { repository, loaded, state };
  }

  it('streams the rows into chunks of CHUNK_ROWS, each committed on its own', async () => {
    const { runner, runs } = fakeRunner();
    const { repository, loaded, state } = fakeRepository();
    const hooked: WriteCounts[] = [];
    const strategy = new StreamedChunks(runner, repository, 'update', {
      beforeCommit: (_tx, c) => {
        hooked.push(c);
        return Promise.resolve();
      },
      afterCommit: (c) => {
        if (c.updated > 0) state.conflictsReported = true;
      },
    });
    const batch = 2000;
    const batches = Math.ceil((CHUNK_ROWS * 2 + 500) / batch);
    const { report } = await strategy.run(ingestOf(batches, batch));
    const total = batches * batch;
    // Chunks commit concurrently: compare as sets, not in completion order.
    expect(loaded.map((l) => l.rows).sort((a, b) => a - b)).toEqual([
      total - 2 * CHUNK_ROWS,
      CHUNK_ROWS,
      CHUNK_ROWS,
    ]);
    expect(loaded.every((l) => l.lines === l.rows)).toBe(true);
    expect(runs.map((r) => r.options?.operation)).toEqual([
      'ingest_chunk',
      'ingest_chunk',
      'ingest_chunk',
    ]);
    expect(report.inserted + report.updated).toBe(total);
    expect(report.inserted).toBe(loaded[0].rows);
    expect(hooked).toHaveLength(3);
    // A chunk opened after a commit met stored pairs goes straight to the staging path; the
    // others name their first pair (a stored one sends a re-upload's first chunk there too).
    for (const l of loaded.filter((x) => x.afterConflicts))
      expect(l.hint).toEqual({ expectConflicts: true });
    expect(loaded.map((l) => l.hint)).toContainEqual({
      expectConflicts: false,
      firstPair: { symbol: 'AAA', date: bar(0).date },
    });
  });

  it('a chunk that fails stops the ingest with that failure; committed counts stay', async () => {
    const { runner } = fakeRunner();
    const { repository } = fakeRepository((n) => (n === 2 ? new Error('disk full') : undefined));
    const strategy = new StreamedChunks(runner, repository, 'skip', {});
    await expect(strategy.run(ingestOf(60, 2000))).rejects.toThrow('disk full');
  });

  it('abort fails the open chunk (its transaction rolls back) and writes nothing more', async () => {
    const { runner } = fakeRunner();
    const { repository, loaded } = fakeRepository();
    const strategy = new StreamedChunks(runner, repository, 'update', {});
    const run = strategy.run(async (target) => {
      await target.write([bar(1), bar(2)]);
      target.abort?.(new Error('413'));
      await target.flush?.();
      return { inserted: 0, updated: 0, skipped: 0, failed: 0 };
    });
    await expect(run).rejects.toThrow('413');
    expect(loaded).toHaveLength(0);
  });
});
