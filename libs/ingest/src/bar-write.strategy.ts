import {
  BarRecord,
  BarTexts,
  BulkMode,
  HistoricalDataRepository,
  TransactionRunner,
  TsvChunk,
  WriteCounts,
  WriteHint,
} from '@app/database';
import type { QueryRunner } from 'typeorm';
import { BatchResult, BatchWriter } from './bar-batch.writer';

/** Where an ingest hands its batches of valid, distinct bars. */
export interface BatchTarget {
  /** Writes a batch; its result, or (a streamed target) zero counts once the batch is taken. */
  write(batch: BarRecord[]): Promise<BatchResult>;
  /**
   * Streamed targets: takes one bar (and its source text, see BarTexts) instead of batches; it is
   * encoded at once, so `bar` may be reused for the next row. A promise says wait for it before
   * the next bar (backpressure); it rejects when the load failed.
   */
  take?(bar: BarRecord, texts?: BarTexts): Promise<void> | undefined;
  /** How many writes may run at once while the next batches are read. */
  readonly maxInFlight: number;
  /** Streamed targets: every batch handed over; resolves once all is committed. */
  flush?(): Promise<void>;
  /** Streamed targets: the input failed; what is not committed yet never will be. */
  abort?(reason: unknown): void;
  /** Streamed targets: the counts committed so far (their batch results carry none). */
  committed?(): WriteCounts;
}

/** What an ingest produced: its write counts and how many rows failed. */
export type IngestTotals = WriteCounts & { failed: number };

/**
 * How the ingest library tells its caller what was committed, knowing nothing of the caller
 * (an upload's record, metrics): `beforeCommit` runs inside the transaction that wrote the rows,
 * so a caller's bookkeeping commits with them; `afterCommit` once they are durable.
 */
export interface CommitHooks {
  beforeCommit?: (tx: QueryRunner, counts: WriteCounts) => Promise<void>;
  afterCommit?: (counts: WriteCounts) => void;
}

export interface StrategyOutcome<R> {
  report: R;
  /** Nothing was written: the all-or-nothing transaction met a failed row and rolled back. */
  rolledBack: boolean;
}

/** How the valid bars of one request or file reach the database; chosen once per ingest. */
export interface WriteStrategy {
  run<R extends IngestTotals>(
    ingest: (target: BatchTarget) => Promise<R>,
  ): Promise<StrategyOutcome<R>>;
}

const countsOf = ({ inserted, updated, skipped }: WriteCounts): WriteCounts => ({
  inserted,
  updated,
  skipped,
});

/** Each batch commits on its own (with the caller's bookkeeping): a failure keeps what committed. */
export class PerBatchCommit implements WriteStrategy {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly batches: BatchWriter,
    private readonly hooks: CommitHooks,
    readonly maxInFlight: number,
  ) {}

  async run<R extends IngestTotals>(
    ingest: (target: BatchTarget) => Promise<R>,
  ): Promise<StrategyOutcome<R>> {
    const report = await ingest({
      write: (batch) => this.commit(batch),
      maxInFlight: this.maxInFlight,
    });
    return { report, rolledBack: false };
  }

  private async commit(batch: BarRecord[]): Promise<BatchResult> {
    const result = await this.transactions.run(
      async (tx) => {
        const r = await this.batches.write(tx, batch);
        await this.hooks.beforeCommit?.(tx, r.counts);
        return r;
      },
      { operation: 'ingest_batch' },
    );
    this.hooks.afterCommit?.(result.counts);
    return result;
  }
}

/** Thrown inside the transaction to undo it: an all-or-nothing write met a failed row. */
class Rollback extends Error {}

/**
 * Every batch in one transaction. `allOrNothing`: any failed row (invalid, or already stored with
 * onConflict=error) rolls the whole write back. `replayable`: the input is in memory, so a
 * deadlock or race runs the whole transaction again; a streamed file cannot be read twice, so
 * there a race retries the batch that met it (TransactionRunner.step) and a deadlock fails.
 */
export class SingleTransaction implements WriteStrategy {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly batches: BatchWriter,
    private readonly hooks: CommitHooks,
    private readonly options: { allOrNothing: boolean; replayable: boolean },
  ) {}

  async run<R extends IngestTotals>(
    ingest: (target: BatchTarget) => Promise<R>,
  ): Promise<StrategyOutcome<R>> {
    let report: R | undefined;
    try {
      report = await this.transactions.run(
        async (tx) => {
          // One connection: its statements run one after another. A transaction that cannot run
          // again retries a batch that met a concurrent insert on its own (step), from a
          // savepoint, looking again at what is stored now.
          const r = await ingest({
            write: (batch) =>
              this.options.replayable
                ? this.batches.write(tx, batch)
                : this.transactions.step(
                    tx,
                    (retry) => this.batches.write(tx, batch, retry),
                    'ingest_batch',
                  ),
            maxInFlight: 1,
          });
          report = r;
          if (this.options.allOrNothing && r.failed > 0) throw new Rollback();
          await this.hooks.beforeCommit?.(tx, countsOf(r));
          return r;
        },
        { operation: 'ingest_transaction', replayable: this.options.replayable },
      );
    } catch (err) {
      if (err instanceof Rollback) return { report: report!, rolledBack: true };
      throw err;
    }
    this.hooks.afterCommit?.(countsOf(report));
    return { report, rolledBack: false };
  }
}

/** Rows per bulk-load chunk: each commits on its own (progress, `interrupted` counts). */
export const CHUNK_ROWS = 50_000;
/** Chunks open at once: one streaming from the parser while the previous ones merge and commit. */
const OPEN_CHUNKS = 3;

const NO_COUNTS: BatchResult = { counts: { inserted: 0, updated: 0, skipped: 0 }, conflicts: [] };

/**
 * MySQL with LOAD DATA, onConflict update or skip: the valid rows stream as TSV into one running
 * `LOAD DATA LOCAL INFILE` per chunk of CHUNK_ROWS while parsing goes on, so neither side waits
 * for the other; each chunk commits in its own transaction (with the caller's bookkeeping) while
 * the next one already streams. A chunk keeps its bytes, so a retried transaction replays it.
 */
export class StreamedChunks implements WriteStrategy {
  constructor(
    private readonly transactions: TransactionRunner,
    private readonly repository: HistoricalDataRepository,
    private readonly mode: BulkMode,
    private readonly hooks: CommitHooks,
  ) {}

  async run<R extends IngestTotals>(
    ingest: (target: BatchTarget) => Promise<R>,
  ): Promise<StrategyOutcome<R>> {
    const loader = new ChunkLoader(this.transactions, this.repository, this.mode, this.hooks);
    const report = await ingest({
      write: (batch) => loader.write(batch),
      take: (bar, texts) => loader.take(bar, texts),
      maxInFlight: 1,
      flush: () => loader.flush(),
      abort: (reason) => loader.abort(reason),
      committed: () => ({ ...loader.totals }),
    });
    return { report, rolledBack: false };
  }
}

/** The chunks of one streamed load: the open one, the ones committing, what they committed. */
class ChunkLoader {
  readonly totals: WriteCounts = { inserted: 0, updated: 0, skipped: 0 };
  private current?: TsvChunk;
  private readonly committing = new Set<Promise<void>>();
  private failure?: Error;
  /** Set once a chunk met stored pairs: the next ones go straight to the staging path. */
  private expectConflicts = false;

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly repository: HistoricalDataRepository,
    private readonly mode: BulkMode,
    private readonly hooks: CommitHooks,
  ) {}

  async write(batch: BarRecord[]): Promise<BatchResult> {
    for (const bar of batch) {
      const wait = this.take(bar);
      if (wait) await wait;
    }
    return NO_COUNTS;
  }

  take(bar: BarRecord, texts?: BarTexts): Promise<void> | undefined {
    const chunk = this.current;
    if (!chunk) return this.openThenTake(bar, texts);
    const room = chunk.addRow(bar, texts);
    if (chunk.rows >= CHUNK_ROWS) {
      chunk.end();
      this.current = undefined;
    } else if (!room) return this.settle(chunk);
    return this.failure ? Promise.reject(this.failure) : undefined;
  }

  /** Opens the next chunk once fewer than OPEN_CHUNKS are committing, then adds the bar. */
  private async openThenTake(bar: BarRecord, texts?: BarTexts): Promise<void> {
    while (this.committing.size >= OPEN_CHUNKS && !this.failure)
      await Promise.race(this.committing);
    if (this.failure) throw this.failure;
    this.current = this.open(bar);
    await this.take(bar, texts);
  }

  /** Waits until the chunk's live reader has room again. */
  private async settle(chunk: TsvChunk): Promise<void> {
    await chunk.settled();
    if (this.failure) throw this.failure;
  }

  async flush(): Promise<void> {
    this.current?.end();
    this.current = undefined;
    while (this.committing.size) await Promise.allSettled(this.committing);
    if (this.failure) throw this.failure;
  }

  /** The open chunk's statement fails with `reason` and its transaction rolls back. */
  abort(reason: unknown): void {
    this.current?.abort(reason instanceof Error ? reason : new Error(String(reason)));
    this.current = undefined;
  }

  /** Counts what `commit` committed; remembers its failure. */
  private track(commit: Promise<WriteCounts>, chunk?: TsvChunk): void {
    const done: Promise<void> = commit
      .then((counts) => {
        this.totals.inserted += counts.inserted;
        this.totals.updated += counts.updated;
        this.totals.skipped += counts.skipped;
        if (counts.updated + counts.skipped > counts.inserted) this.expectConflicts = true;
        this.hooks.afterCommit?.(counts);
      })
      .catch((err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
        chunk?.abandonLive();
      })
      .finally(() => this.committing.delete(done));
    this.committing.add(done);
  }

  /** Opens a chunk whose first row will be `first` (its pair lets a re-upload's first chunk go to staging). */
  private open(first: BarRecord): TsvChunk {
    const chunk = new TsvChunk();
    const hint: WriteHint = this.expectConflicts
      ? { expectConflicts: true }
      : { expectConflicts: false, firstPair: { symbol: first.symbol, date: first.date } };
    this.track(
      this.transactions.run(
        async (tx) => {
          const counts = await this.repository.loadChunk(tx, chunk, this.mode, hint);
          await this.hooks.beforeCommit?.(tx, counts);
          return counts;
        },
        { operation: 'ingest_chunk' },
      ),
      chunk,
    );
    return chunk;
  }
}

/** Validates and predicts each batch against what is stored; writes nothing. */
export class DryRun implements WriteStrategy {
  constructor(private readonly batches: BatchWriter) {}

  async run<R extends IngestTotals>(
    ingest: (target: BatchTarget) => Promise<R>,
  ): Promise<StrategyOutcome<R>> {
    const report = await ingest({ write: (batch) => this.batches.predict(batch), maxInFlight: 1 });
    return { report, rolledBack: false };
  }
}

/**
 * Batches handed to a target with a bounded number in flight: `add` returns once there is room
 * for another (backpressure on the reader), `settle` waits for all and answers the first failure.
 */
export class InFlightBatches {
  private readonly running = new Set<Promise<void>>();
  failure: unknown;

  constructor(private readonly max: number) {}

  async add(write: () => Promise<void>): Promise<void> {
    const p: Promise<void> = write()
      .catch((err: unknown) => {
        this.failure ??= err;
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
    while (this.running.size >= this.max) await Promise.race(this.running);
  }

  async settle(): Promise<unknown> {
    while (this.running.size) await Promise.allSettled(this.running);
    return this.failure;
  }
}
