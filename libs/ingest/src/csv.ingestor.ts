import {
  BarRecord,
  ConflictMode,
  HistoricalDataRepository,
  TransactionRunner,
  UploadRowError,
  WriteCounts,
} from '@app/database';
import { countIngest, ingestDuration } from '@app/observability';
import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { QueryRunner } from 'typeorm';
import type { RowErrorCode } from './bar-rule.codes';
import { alreadyExistsMessage, BATCH_ROWS, BatchResult, BatchWriter } from './bar-batch.writer';
import { BarField, BarRuleOptions, emptyBar, RawBar, ValidBar } from './bar.rules';
import {
  BatchTarget,
  DryRun,
  InFlightBatches,
  PerBatchCommit,
  SingleTransaction,
  StreamedChunks,
  WriteStrategy,
} from './bar-write.strategy';
import { ColumnMap, mapHeader } from './csv-header';
import { CsvFormatError, CsvRecord, CsvRecordError, readCsvRecordBatches } from './csv-records';
import { ValidatedBars } from './validated-bars';

export const MAX_REPORTED_ERRORS = 1000;

export interface CsvIngestOptions extends BarRuleOptions {
  /** For metrics: an HTTP upload (csv, the default) or a command-line import (cli). */
  source?: 'csv' | 'cli';
  onConflict: ConflictMode;
  atomic: boolean;
  dryRun: boolean;
  /** Symbol for files without a symbol column. */
  symbol?: string;
  /** Called every few thousand rows while reading. */
  onProgress?: (rows: number) => void;
  /**
   * Receives every rejected record (for the errors CSV). A promise returned says the receiver is
   * saturated: reading waits for it before the next records (backpressure).
   */
  onRejected?: (record: CsvRecord, errors: UploadRowError[]) => void | Promise<void>;
  /**
   * Runs inside each transaction that commits rows, with that transaction's counts: the caller's
   * own bookkeeping (an upload's committed counts) commits together with the rows, or not at all.
   */
  onCommitted?: (tx: QueryRunner, counts: WriteCounts) => Promise<void>;
}

export interface CsvIngestReport {
  rows: number;
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
  errors: UploadRowError[];
  errorsTruncated: boolean;
  errorCounts: Partial<Record<RowErrorCode, number>>;
}

export class CsvHeaderError extends Error {
  constructor(
    readonly missing: string[],
    readonly found: string[],
  ) {
    super(
      `Missing required column(s): ${missing.join(', ')}. Found: ${found.join(', ') || '(none)'}.`,
    );
    this.name = 'CsvHeaderError';
  }
}

/** The end-of-ingest invariant broke: the counts do not add up to the rows read. */
export class IngestCountError extends Error {
  constructor({ rows, inserted, updated, skipped, failed }: CsvIngestReport) {
    super(
      `the write counts do not add up: ${rows} row(s) read, but ${inserted} inserted + ` +
        `${updated} updated + ${skipped} skipped + ${failed} failed = ` +
        `${inserted + updated + skipped + failed}; the counts recorded are those committed`,
    );
    this.name = 'IngestCountError';
  }
}

/** The ingest stopped part way; `report` holds what was committed before it did. */
export class IngestInterruptedError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly report: CsvIngestReport,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'IngestInterruptedError';
  }
}

/** How many batches may be in the database at once: parsing the next overlaps writing these. */
const IN_FLIGHT = { mysql: 3, sqlite: 1 };
const PROGRESS_EVERY = 5000;

/**
 * CSV bytes → records → the validated-bars stream → a write strategy, streaming end to end with
 * backpressure: memory holds the batches in flight and a compact duplicate index, never the file.
 * The strategy is chosen once: per-batch commits, one all-or-nothing transaction (atomic), or a
 * dry run. What commits is reported through `onCommitted`; this library knows nothing of uploads.
 */
@Injectable()
export class CsvIngestor {
  constructor(
    private readonly repository: HistoricalDataRepository,
    private readonly transactions: TransactionRunner,
  ) {}

  async ingest(source: Readable, options: CsvIngestOptions): Promise<CsvIngestReport> {
    const label = options.source ?? 'csv';
    const metrics = !options.dryRun;
    const end = metrics ? ingestDuration.startTimer({ source: label }) : undefined;
    const run = new IngestRun(options);
    try {
      const strategy = await this.strategyFor(options);
      const { report, rolledBack } = await strategy.run((target) => run.consume(source, target));
      if (metrics) countIngest(label, { failed: report.failed });
      return rolledBack ? { ...report, inserted: 0, updated: 0, skipped: 0 } : report;
    } catch (err) {
      if (metrics && err instanceof IngestInterruptedError)
        countIngest(label, { failed: err.report.failed });
      throw err;
    } finally {
      end?.();
    }
  }

  private async strategyFor(options: CsvIngestOptions): Promise<WriteStrategy> {
    const batches = new BatchWriter(this.repository, options.onConflict);
    if (options.dryRun) return new DryRun(batches);
    const label = options.source ?? 'csv';
    const hooks = {
      beforeCommit: options.onCommitted,
      afterCommit: (counts: WriteCounts) => countIngest(label, counts),
    };
    // A streamed file cannot be read twice: the atomic transaction is not retried.
    if (options.atomic)
      return new SingleTransaction(this.transactions, batches, hooks, {
        allOrNothing: true,
        replayable: false,
      });
    // onConflict=error reports stored pairs per row, which a bulk load cannot tell apart.
    if (
      options.onConflict !== 'error' &&
      (await this.repository.detectIngestPath()) === 'load-data'
    )
      return new StreamedChunks(this.transactions, this.repository, options.onConflict, hooks);
    return new PerBatchCommit(
      this.transactions,
      batches,
      hooks,
      IN_FLIGHT[this.repository.dialect],
    );
  }
}

interface Batch {
  bars: BarRecord[];
  lines: number[];
  /** The records' fields, kept only when rows may be rejected at write time (onConflict=error). */
  fields: string[][];
}

/** The state of one file's ingest: its report, its columns, its validated-bars stream. */
class IngestRun {
  readonly report: CsvIngestReport = {
    rows: 0,
    inserted: 0,
    updated: 0,
    skipped: 0,
    failed: 0,
    errors: [],
    errorsTruncated: false,
    errorCounts: {},
  };
  private bars: ValidatedBars;
  private columns?: CsvColumns;
  /** The current record's cells and its bar: one of each for the whole file, reused per row. */
  private readonly raw: RawBar = {
    symbol: undefined,
    date: undefined,
    open: undefined,
    high: undefined,
    low: undefined,
    close: undefined,
    adjClose: undefined,
    volume: undefined,
  };
  private readonly bar: ValidBar = emptyBar();
  /** The rejected-rows receiver is saturated until this settles. */
  private rejectedBackpressure?: Promise<void>;

  constructor(private readonly options: CsvIngestOptions) {
    this.bars = new ValidatedBars(options, 'file');
  }

  /** Reads the file and hands its valid bars to `target` in batches; answers the report. */
  async consume(source: Readable, target: BatchTarget): Promise<CsvIngestReport> {
    const pool = new InFlightBatches(target.maxInFlight);
    const keepFields = this.options.onConflict === 'error';
    const take = target.take?.bind(target);
    let batch = newBatch();
    const dispatch = (full: Batch): Promise<void> =>
      pool.add(async () => this.account(full, await target.write(full.bars)));
    // Semicolon files are mostly European: decimal commas are read there unless told otherwise.
    const onDelimiter = (delimiter: string): void => {
      if (this.options.decimal === undefined && delimiter === ';') {
        this.bars = new ValidatedBars({ ...this.options, decimal: 'auto' }, 'file');
      }
    };
    try {
      for await (const records of readCsvRecordBatches(source, onDelimiter)) {
        if (pool.failure) break;
        if (this.rejectedBackpressure) {
          await this.rejectedBackpressure;
          this.rejectedBackpressure = undefined;
        }
        for (const record of records) {
          if (!this.columns) {
            this.columns = CsvColumns.fromHeader(record.fields, this.options.symbol);
            continue;
          }
          if (!this.check(record, this.columns)) continue;
          // A streamed target encodes the bar at once: nothing of the row outlives this step.
          if (take) {
            const wait = take(this.bar, this.raw);
            if (wait) await wait;
            continue;
          }
          batch.bars.push({ ...this.bar });
          batch.lines.push(record.line);
          // Holding the original fields otherwise keeps every batch's strings alive.
          if (keepFields) batch.fields.push(record.fields);
          if (batch.bars.length >= BATCH_ROWS) {
            const full = batch;
            batch = newBatch();
            await dispatch(full);
          }
        }
      }
      if (!this.columns) throw new CsvFormatError('EMPTY_FILE', 'The file is empty.');
      if (this.report.rows === 0)
        throw new CsvFormatError('EMPTY_FILE', 'The file has a header but no rows.');
    } catch (caught) {
      const err =
        caught instanceof CsvRecordError && !this.columns
          ? new CsvFormatError(
              'UNREADABLE_HEADER',
              `The header (line 1) could not be read: ${caught.message}. Is this a CSV file with one record per line?`,
            )
          : caught;
      if (!(err instanceof CsvRecordError)) {
        target.abort?.(err);
        await pool.settle();
        await target.flush?.().catch(() => undefined);
        throw this.interrupted(err, target);
      }
      // An unterminated quote swallowed the rest of the file: one rejected record, then the end.
      this.report.rows++;
      this.reject({ line: err.line, fields: [] }, [
        { line: err.line, column: '', value: '', code: 'WRONG_COLUMN_COUNT', message: err.message },
      ]);
    }
    // The last, partial batch: also after a malformed final record, which ends the file.
    if (batch.bars.length && !pool.failure) await dispatch(batch);
    let failure = await pool.settle();
    if (target.flush) failure ??= await target.flush().catch((err: unknown) => err);
    this.options.onProgress?.(this.report.rows);
    if (failure) throw this.interrupted(failure, target);
    this.takeCommitted(target);
    // Every row read is accounted for exactly once: written (inserted, updated, skipped) or
    // failed. Anything else is a defect in the write path, never a `completed` upload.
    const { rows, inserted, updated, skipped, failed } = this.report;
    if (inserted + updated + skipped + failed !== rows)
      throw this.interrupted(new IngestCountError(this.report), target);
    return this.report;
  }

  /** Header and format errors stand alone; anything else carries what was committed so far. */
  private interrupted(err: unknown, target: BatchTarget): unknown {
    if (err instanceof CsvHeaderError || err instanceof CsvFormatError) return err;
    this.options.onProgress?.(this.report.rows);
    this.takeCommitted(target);
    return new IngestInterruptedError(err, this.report);
  }

  /** A streamed target reports committed counts as a whole, not per batch. */
  private takeCommitted(target: BatchTarget): void {
    const committed = target.committed?.();
    if (committed) Object.assign(this.report, committed);
  }

  private account(batch: Batch, { counts, conflicts }: BatchResult): void {
    this.report.inserted += counts.inserted;
    this.report.updated += counts.updated;
    this.report.skipped += counts.skipped;
    for (const i of conflicts) {
      const bar = batch.bars[i];
      const line = batch.lines[i];
      this.reject({ line, fields: batch.fields[i] ?? [] }, [
        {
          line,
          column: this.columns!.nameOf('date'),
          value: bar.date,
          code: 'ALREADY_EXISTS',
          message: alreadyExistsMessage(bar),
        },
      ]);
    }
  }

  /** Validates one record into `this.bar` (true), or records why not (false). */
  private check(record: CsvRecord, columns: CsvColumns): boolean {
    this.report.rows++;
    if (this.report.rows % PROGRESS_EVERY === 0) this.options.onProgress?.(this.report.rows);
    const { fields, line } = record;
    if (fields.length !== columns.width) {
      this.reject(record, [
        {
          line,
          column: '',
          value: truncate(fields.join(',')),
          code: 'WRONG_COLUMN_COUNT',
          message: `expected ${columns.width} fields (as in the header), found ${fields.length}`,
        },
      ]);
      return false;
    }
    const raw = columns.read(fields, this.raw);
    const errors = this.bars.checkInto(raw, this.bar);
    if (!errors) return true;
    this.reject(
      record,
      errors.map((e) => ({
        line,
        column: columns.nameOf(e.field),
        value: truncate(cellOf(raw[e.field])),
        code: e.code,
        message: e.message,
      })),
    );
    return false;
  }

  private reject(record: CsvRecord, errors: UploadRowError[]): void {
    this.report.failed++;
    for (const e of errors) {
      const code = e.code as RowErrorCode;
      this.report.errorCounts[code] = (this.report.errorCounts[code] ?? 0) + 1;
      if (this.report.errors.length < MAX_REPORTED_ERRORS) this.report.errors.push(e);
      else this.report.errorsTruncated = true;
    }
    const saturated = this.options.onRejected?.(record, errors);
    if (saturated) this.rejectedBackpressure = saturated;
  }
}

/** The file's columns, mapped from its header onto bar fields. */
class CsvColumns {
  private constructor(
    private readonly map: ColumnMap,
    private readonly header: string[],
    private readonly symbol: string | undefined,
  ) {}

  static fromHeader(header: string[], symbol: string | undefined): CsvColumns {
    const map = mapHeader(header, symbol !== undefined);
    if (map.missing.length)
      throw new CsvHeaderError(
        map.missing,
        header.map((h) => h.trim()),
      );
    return new CsvColumns(map, header, symbol);
  }

  get width(): number {
    return this.map.width;
  }

  /** The record's cells as a raw bar, written into `raw` (the query's symbol for files without a symbol column). */
  read(fields: string[], raw: RawBar): RawBar {
    const i = this.map.index;
    raw.symbol = i.symbol !== undefined ? fields[i.symbol] : this.symbol;
    raw.date = fields[i.date!];
    raw.open = fields[i.open!];
    raw.high = fields[i.high!];
    raw.low = fields[i.low!];
    raw.close = fields[i.close!];
    raw.adjClose = i.adjClose !== undefined ? fields[i.adjClose] : undefined;
    raw.volume = fields[i.volume!];
    return raw;
  }

  /** The file's name of the column a field came from, for error reports. */
  nameOf(field: BarField): string {
    const name = this.map.name[field];
    if (name !== undefined) return name;
    return field === 'symbol'
      ? 'symbol (query parameter)'
      : (this.header[this.map.index[field] ?? -1] ?? field);
  }
}

function newBatch(): Batch {
  return { bars: [], lines: [], fields: [] };
}

/** CSV cells are strings; the query symbol stands in as a string too. */
function cellOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function truncate(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
