import {
  barKey,
  BarRecord,
  ConflictMode,
  HistoricalDataRepository,
  WriteCounts,
} from '@app/database';
import { inSpan } from '@app/observability';
import type { QueryRunner } from 'typeorm';

/** Rows per write statement: JSON requests and CSV files are written in batches this size. */
export const BATCH_ROWS = 2000;

export interface BatchResult {
  counts: WriteCounts;
  /** Positions in the batch of pairs already stored (onConflict=error only). */
  conflicts: number[];
}

export function alreadyExistsMessage(bar: BarRecord): string {
  return `${bar.symbol} ${bar.date} is already stored (onConflict=error)`;
}

/**
 * Writes the batches of one request or file in one conflict mode. It remembers whether earlier
 * batches met stored pairs: a re-upload's later batches then go straight to the path built for
 * updates (the repository's WriteHint) instead of trying the insert path first.
 */
export class BatchWriter {
  private expectConflicts = false;

  constructor(
    private readonly repository: HistoricalDataRepository,
    readonly mode: ConflictMode,
  ) {}

  /**
   * Writes one batch (distinct pairs) inside `tx`. In 'error' mode stored pairs are not written
   * and come back as `conflicts` (positions in `batch`). `latest`: look at what is committed now,
   * not at the transaction's snapshot (a retry after a concurrent insert; a locking read).
   */
  write(tx: QueryRunner, batch: BarRecord[], latest = false): Promise<BatchResult> {
    return inSpan(
      'ingest.batch',
      { 'ingest.rows': batch.length, 'ingest.on_conflict': this.mode },
      async () => {
        const conflicts =
          this.mode === 'error' ? await this.storedPositions(batch, tx, latest) : [];
        const skip = new Set(conflicts);
        const toWrite = skip.size ? batch.filter((_, i) => !skip.has(i)) : batch;
        const counts = await this.repository.upsertBatch(tx, toWrite, this.mode, {
          expectConflicts: this.expectConflicts,
        });
        this.learn(counts, conflicts.length);
        return { counts, conflicts };
      },
      ({ counts, conflicts }) => ({
        'ingest.inserted': counts.inserted,
        'ingest.updated': counts.updated,
        'ingest.skipped': counts.skipped,
        'ingest.conflicts': conflicts.length,
      }),
    );
  }

  /** What `write` would do, without writing (dry runs). */
  async predict(batch: BarRecord[]): Promise<BatchResult> {
    const stored = await this.storedPositions(batch);
    const n = batch.length - stored.length;
    if (this.mode === 'error')
      return { counts: { inserted: n, updated: 0, skipped: 0 }, conflicts: stored };
    return {
      counts:
        this.mode === 'skip'
          ? { inserted: n, updated: 0, skipped: stored.length }
          : { inserted: n, updated: stored.length, skipped: 0 },
      conflicts: [],
    };
  }

  /** Mostly stored pairs in this batch: expect the same of the next ones. */
  private learn(counts: WriteCounts, conflicts: number): void {
    if (counts.updated + counts.skipped + conflicts > counts.inserted) this.expectConflicts = true;
  }

  private async storedPositions(
    batch: BarRecord[],
    tx?: QueryRunner,
    latest = false,
  ): Promise<number[]> {
    const existing = await this.repository.findExistingKeys(batch, tx, latest);
    if (existing.size === 0) return [];
    const positions: number[] = [];
    batch.forEach((bar, i) => {
      if (existing.has(barKey(bar.symbol, bar.date))) positions.push(i);
    });
    return positions;
  }
}
