import {
  barKey,
  BarRecord,
  ConflictMode,
  HistoricalDataRepository,
  isUniqueViolation,
  WriteCounts,
  WriteHint,
} from '@app/database';
import { countIngest, ingestDuration, inSpan } from '@app/observability';
import { Injectable } from '@nestjs/common';
import type { QueryRunner } from 'typeorm';
import type { RowErrorCode } from './bar-rule.codes';
import { BarRuleOptions, createBarValidator, RawBar } from './bar.rules';
import { DuplicateTracker } from './duplicate.tracker';

export const BATCH_ROWS = 2000;

export interface WriteOptions extends BarRuleOptions {
  onConflict: ConflictMode;
  atomic: boolean;
}

export interface IndexedRowError {
  index: number;
  field: string;
  code: RowErrorCode;
  message: string;
}

export interface WriteReport {
  received: number;
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
  errors: IndexedRowError[];
}

export interface BatchResult {
  counts: WriteCounts;
  /** Positions in the batch of pairs already stored (onConflict=error only). */
  conflicts: number[];
}

export function alreadyExistsMessage(bar: BarRecord): string {
  return `${bar.symbol} ${bar.date} is already stored (onConflict=error)`;
}

/** Thrown inside the transaction to undo an atomic write that found a stored pair in 'error' mode. */
class AtomicAbort extends Error {}

/**
 * Validates an in-memory list of bars with the rule set and writes the valid ones in batches,
 * in one transaction, so a database failure half way leaves nothing half written.
 * `atomic` decides what invalid rows do: reported and skipped (false) or the whole write refused.
 */
@Injectable()
export class BarWriter {
  constructor(private readonly repository: HistoricalDataRepository) {}

  async write(raws: readonly RawBar[], options: WriteOptions): Promise<WriteReport> {
    const end = ingestDuration.startTimer({ source: 'json' });
    try {
      const report = await this.validateAndWrite(raws, options);
      const { inserted, updated, skipped, failed } = report;
      countIngest('json', { inserted, updated, skipped, failed });
      return report;
    } finally {
      end();
    }
  }

  private async validateAndWrite(
    raws: readonly RawBar[],
    options: WriteOptions,
  ): Promise<WriteReport> {
    const validate = createBarValidator(options);
    const duplicates = new DuplicateTracker();
    const errors: IndexedRowError[] = [];
    const valid: BarRecord[] = [];
    const validIndex: number[] = [];
    let failed = 0;

    for (let index = 0; index < raws.length; index++) {
      const result = validate(raws[index]);
      if (!result.ok) {
        failed++;
        for (const e of result.errors) errors.push({ index, ...e });
      } else if (!duplicates.add(result.bar.symbol, result.bar.date)) {
        failed++;
        errors.push({
          index,
          field: 'date',
          code: 'DUPLICATE_IN_FILE',
          message: `${result.bar.symbol} ${result.bar.date} appears earlier in this request`,
        });
      } else {
        valid.push(result.bar);
        validIndex.push(index);
      }
    }

    const report: WriteReport = {
      received: raws.length,
      inserted: 0,
      updated: 0,
      skipped: 0,
      failed,
      errors,
    };
    if ((options.atomic && failed > 0) || valid.length === 0) return report;

    const conflicts: IndexedRowError[] = [];
    try {
      const counts = await this.withRetryOnRace(() => {
        conflicts.length = 0;
        return this.repository.transaction((tx) =>
          this.writeBatches(tx, valid, validIndex, options, (c) => conflicts.push(c)),
        );
      });
      Object.assign(report, counts);
    } catch (err) {
      if (!(err instanceof AtomicAbort)) throw err;
    }
    report.failed += conflicts.length;
    report.errors = [...errors, ...conflicts].sort((a, b) => a.index - b.index);
    return report;
  }

  private async writeBatches(
    tx: QueryRunner,
    bars: BarRecord[],
    indexes: number[],
    options: WriteOptions,
    onConflict: (e: IndexedRowError) => void,
  ): Promise<WriteCounts> {
    const total = { inserted: 0, updated: 0, skipped: 0 };
    // Once a batch meets stored pairs, later ones go straight to the upsert (see WriteHint).
    let expectConflicts = false;
    for (let start = 0; start < bars.length; start += BATCH_ROWS) {
      const batch = bars.slice(start, start + BATCH_ROWS);
      const { counts, conflicts } = await this.writeBatch(tx, batch, options.onConflict, {
        expectConflicts,
      });
      if (counts.updated + counts.skipped + conflicts.length > counts.inserted)
        expectConflicts = true;
      for (const i of conflicts) {
        const bar = batch[i];
        onConflict({
          index: indexes[start + i],
          field: 'date',
          code: 'ALREADY_EXISTS',
          message: alreadyExistsMessage(bar),
        });
      }
      if (conflicts.length && options.atomic) throw new AtomicAbort();
      total.inserted += counts.inserted;
      total.updated += counts.updated;
      total.skipped += counts.skipped;
    }
    return total;
  }

  /**
   * Writes one batch (distinct pairs) inside `tx`. In 'error' mode stored pairs are not written
   * and come back as `conflicts` (positions in `batch`).
   */
  async writeBatch(
    tx: QueryRunner,
    batch: BarRecord[],
    mode: ConflictMode,
    hint?: WriteHint,
  ): Promise<BatchResult> {
    return inSpan(
      'ingest.batch',
      { 'ingest.rows': batch.length, 'ingest.on_conflict': mode },
      async () => {
        const conflicts = mode === 'error' ? await this.storedPositions(batch, tx) : [];
        const skip = new Set(conflicts);
        const toWrite = skip.size ? batch.filter((_, i) => !skip.has(i)) : batch;
        const counts = await this.repository.upsertBatch(tx, toWrite, mode, hint);
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

  /** What writeBatch would do, without writing (dry runs). */
  async predictBatch(batch: BarRecord[], mode: ConflictMode): Promise<BatchResult> {
    const stored = await this.storedPositions(batch);
    const n = batch.length - stored.length;
    if (mode === 'error')
      return { counts: { inserted: n, updated: 0, skipped: 0 }, conflicts: stored };
    return {
      counts:
        mode === 'skip'
          ? { inserted: n, updated: 0, skipped: stored.length }
          : { inserted: n, updated: stored.length, skipped: 0 },
      conflicts: [],
    };
  }

  private async storedPositions(batch: BarRecord[], tx?: QueryRunner): Promise<number[]> {
    const existing = await this.repository.findExistingKeys(batch, tx);
    if (existing.size === 0) return [];
    const positions: number[] = [];
    batch.forEach((bar, i) => {
      if (existing.has(barKey(bar.symbol, bar.date))) positions.push(i);
    });
    return positions;
  }

  /**
   * In 'error' mode a pair stored by a concurrent writer between our look and our insert fails
   * the statement; the whole transaction rolled back, so trying once more is safe and exact.
   */
  private async withRetryOnRace<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      return attempt();
    }
  }
}
