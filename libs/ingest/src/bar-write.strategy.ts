import { BarRecord, TransactionRunner, WriteCounts } from '@app/database';
import type { QueryRunner } from 'typeorm';
import { BatchResult, BatchWriter } from './bar-batch.writer';

/** Where an ingest hands its batches of valid, distinct bars. */
export interface BatchTarget {
  write(batch: BarRecord[]): Promise<BatchResult>;
  /** How many writes may run at once while the next batches are read. */
  readonly maxInFlight: number;
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
 * deadlock or race runs the whole transaction again (a streamed file cannot be read twice).
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
          // One connection: its statements run one after another.
          const r = await ingest({
            write: (batch) => this.batches.write(tx, batch),
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
