import {
  BarRecord,
  ConflictMode,
  HistoricalDataRepository,
  TransactionRunner,
} from '@app/database';
import { countIngest, ingestDuration } from '@app/observability';
import { Injectable } from '@nestjs/common';
import type { RowErrorCode } from './bar-rule.codes';
import { alreadyExistsMessage, BATCH_ROWS, BatchWriter } from './bar-batch.writer';
import { BarRuleOptions, RawBar } from './bar.rules';
import { SingleTransaction } from './bar-write.strategy';
import { ValidatedBars } from './validated-bars';

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

/**
 * A JSON request's bars: the validated-bars stream, then one transaction for every batch (so a
 * database failure half way leaves nothing half written; the input is in memory, so a deadlock
 * or a concurrent-insert race runs it again). `atomic` decides what failed rows do: reported and
 * skipped (false) or the whole write refused (true).
 */
@Injectable()
export class BarWriter {
  constructor(
    private readonly repository: HistoricalDataRepository,
    private readonly transactions: TransactionRunner,
  ) {}

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
    const bars = new ValidatedBars(options, 'request');
    const errors: IndexedRowError[] = [];
    const valid: BarRecord[] = [];
    const validIndex: number[] = [];
    let failed = 0;
    for (let index = 0; index < raws.length; index++) {
      const result = bars.check(raws[index]);
      if (result.ok) {
        valid.push(result.bar);
        validIndex.push(index);
      } else {
        failed++;
        for (const e of result.errors) errors.push({ index, ...e });
      }
    }

    const empty = { inserted: 0, updated: 0, skipped: 0 };
    const rejected = { received: raws.length, ...empty, failed, errors };
    if ((options.atomic && failed > 0) || valid.length === 0) return rejected;

    const strategy = new SingleTransaction(
      this.transactions,
      new BatchWriter(this.repository, options.onConflict),
      {},
      { allOrNothing: options.atomic, replayable: true },
    );
    // Runs again from the start when the transaction is retried: state lives in the closure.
    const { report, rolledBack } = await strategy.run(async (target) => {
      const totals = { ...empty, failed: 0 };
      const conflicts: IndexedRowError[] = [];
      for (let start = 0; start < valid.length; start += BATCH_ROWS) {
        const batch = valid.slice(start, start + BATCH_ROWS);
        const { counts, conflicts: stored } = await target.write(batch);
        totals.inserted += counts.inserted;
        totals.updated += counts.updated;
        totals.skipped += counts.skipped;
        for (const i of stored) {
          conflicts.push({
            index: validIndex[start + i],
            field: 'date',
            code: 'ALREADY_EXISTS',
            message: alreadyExistsMessage(batch[i]),
          });
        }
        // All or nothing: the first stored pair decides; the rest need not be written.
        if (options.atomic && conflicts.length) break;
      }
      totals.failed = conflicts.length;
      return { ...totals, conflicts };
    });
    const all = [...errors, ...report.conflicts].sort((a, b) => a.index - b.index);
    const counts = rolledBack ? empty : report;
    return {
      received: raws.length,
      inserted: counts.inserted,
      updated: counts.updated,
      skipped: counts.skipped,
      failed: failed + report.conflicts.length,
      errors: all,
    };
  }
}
