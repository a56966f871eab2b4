import {
  BarRecord,
  ConflictMode,
  TransactionRunner,
  UploadRowError,
  UploadsRepository,
} from '@app/database';
import { countIngest, ingestDuration } from '@app/observability';
import { Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { QueryRunner } from 'typeorm';
import type { RowErrorCode } from './bar-rule.codes';
import { BarField, BarRuleOptions, BarValidator, createBarValidator, RawBar } from './bar.rules';
import { alreadyExistsMessage, BATCH_ROWS, BatchResult, BarWriter } from './bar.writer';
import { ColumnMap, mapHeader } from './csv-header';
import { CsvFormatError, CsvRecord, CsvRecordError, readCsvRecordBatches } from './csv-records';
import { DuplicateTracker } from './duplicate.tracker';

export const MAX_REPORTED_ERRORS = 1000;

export interface CsvIngestOptions extends BarRuleOptions {
  uploadId: string;
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

class AtomicRollback extends Error {}

/** How many batches may be in the database at once: parsing the next overlaps writing these. */
const IN_FLIGHT = { mysql: 3, sqlite: 1 };
const PROGRESS_EVERY = 5000;

/**
 * CSV bytes → records → bar rule set → batched writes, streaming end to end with backpressure:
 * memory holds the batches in flight and a compact duplicate index, never the file.
 * Non-atomic: each batch commits on its own, together with the upload's committed counts.
 * Atomic: one transaction for the whole file, rolled back if any row fails.
 */
@Injectable()
export class CsvIngestor {
  constructor(
    private readonly writer: BarWriter,
    private readonly transactions: TransactionRunner,
    private readonly uploads: UploadsRepository,
  ) {}

  async ingest(
    source: Readable,
    options: CsvIngestOptions,
    dialect: 'mysql' | 'sqlite',
  ): Promise<CsvIngestReport> {
    if (options.dryRun) return this.run(source, options, dialect);
    const label = options.source ?? 'csv';
    const end = ingestDuration.startTimer({ source: label });
    // Rows written by independently committed batches are counted as each batch commits
    // (IngestRun.account); here: the rows of an atomic run once it committed, and rejected rows.
    const count = ({ inserted, updated, skipped, failed }: CsvIngestReport): void =>
      countIngest(label, options.atomic ? { inserted, updated, skipped, failed } : { failed });
    try {
      const report = await this.run(source, options, dialect);
      count(report);
      return report;
    } catch (err) {
      if (err instanceof IngestInterruptedError) count(err.report);
      throw err;
    } finally {
      end();
    }
  }

  private async run(
    source: Readable,
    options: CsvIngestOptions,
    dialect: 'mysql' | 'sqlite',
  ): Promise<CsvIngestReport> {
    const run = new IngestRun(
      options,
      this.writer,
      this.uploads,
      options.atomic || options.dryRun ? 1 : IN_FLIGHT[dialect],
    );
    if (!options.atomic || options.dryRun) {
      return run.consume(source, (batch) => run.commitBatch(this.transactions, batch));
    }
    try {
      return await this.transactions.run(async (tx) => {
        const report = await run.consume(source, (batch) => run.writeInto(tx, batch));
        if (report.failed > 0) throw new AtomicRollback();
        await this.uploads.addCommitted(tx, options.uploadId, report);
        return report;
      });
    } catch (err) {
      if (err instanceof AtomicRollback)
        return { ...run.report, inserted: 0, updated: 0, skipped: 0 };
      throw err;
    }
  }
}

interface Batch {
  bars: BarRecord[];
  lines: number[];
  fields: string[][];
  dateColumn: string;
}

/** The state of one file's ingest. */
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
  private validate: BarValidator;
  /** The rejected-rows receiver is saturated until this settles. */
  private rejectedBackpressure?: Promise<void>;
  private readonly duplicates = new DuplicateTracker();
  /** Set once a batch met stored pairs: later batches of a re-upload go straight to the upsert. */
  private expectConflicts = false;

  constructor(
    private readonly options: CsvIngestOptions,
    private readonly writer: BarWriter,
    private readonly uploads: UploadsRepository,
    private readonly maxInFlight: number,
  ) {
    this.validate = createBarValidator(options);
  }

  async consume(
    source: Readable,
    write: (batch: Batch) => Promise<BatchResult>,
  ): Promise<CsvIngestReport> {
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    const dispatch = (batch: Batch): Promise<void> => {
      const p: Promise<void> = write(batch)
        .then((result) => this.account(batch, result))
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      return p;
    };

    let columns: ColumnMap | undefined;
    let header: string[] = [];
    let batch: Batch | undefined;
    // Semicolon files are mostly European: decimal commas are read there unless told otherwise.
    const onDelimiter = (delimiter: string): void => {
      if (this.options.decimal === undefined && delimiter === ';') {
        this.validate = createBarValidator({ ...this.options, decimal: 'auto' });
      }
    };
    try {
      for await (const records of readCsvRecordBatches(source, onDelimiter)) {
        if (failure) break;
        if (this.rejectedBackpressure) {
          await this.rejectedBackpressure;
          this.rejectedBackpressure = undefined;
        }
        for (const record of records) {
          if (!columns) {
            header = record.fields;
            columns = mapHeader(header, this.options.symbol !== undefined);
            if (columns.missing.length) {
              throw new CsvHeaderError(
                columns.missing,
                header.map((h) => h.trim()),
              );
            }
            batch = newBatch(columns);
            continue;
          }
          this.report.rows++;
          if (this.report.rows % PROGRESS_EVERY === 0) this.options.onProgress?.(this.report.rows);
          const bar = this.check(record, columns, header);
          if (!bar) continue;
          batch!.bars.push(bar);
          batch!.lines.push(record.line);
          // The original fields are only needed to export rows rejected at write time
          // (onConflict=error); holding them otherwise keeps every batch's strings alive.
          if (this.options.onConflict === 'error') batch!.fields.push(record.fields);
          if (batch!.bars.length >= BATCH_ROWS) {
            void dispatch(batch!);
            batch = newBatch(columns);
            if (inFlight.size >= this.maxInFlight) await Promise.race(inFlight);
          }
        }
      }
      if (!columns) throw new CsvFormatError('EMPTY_FILE', 'The file is empty.');
      if (this.report.rows === 0)
        throw new CsvFormatError('EMPTY_FILE', 'The file has a header but no rows.');
    } catch (err) {
      if (err instanceof CsvRecordError && !columns) {
        failure ??= new CsvFormatError(
          'UNREADABLE_HEADER',
          `The header (line 1) could not be read: ${err.message}. Is this a CSV file with one record per line?`,
        );
      } else if (err instanceof CsvRecordError) {
        // An unterminated quote swallowed the rest of the file: one rejected record, then the end.
        this.report.rows++;
        this.reject({ line: err.line, fields: [] }, [
          {
            line: err.line,
            column: '',
            value: '',
            code: 'WRONG_COLUMN_COUNT',
            message: err.message,
          },
        ]);
      } else {
        failure ??= err;
      }
    }
    // The last, partial batch: also after a malformed final record, which ends the file.
    if (batch?.bars.length && !failure) void dispatch(batch);
    while (inFlight.size) await Promise.allSettled(inFlight);
    this.options.onProgress?.(this.report.rows);
    if (failure) {
      if (failure instanceof CsvHeaderError || failure instanceof CsvFormatError) throw failure;
      throw new IngestInterruptedError(failure, this.report);
    }
    return this.report;
  }

  /** Non-atomic: the batch and the upload's committed counts in one transaction. */
  commitBatch(transactions: TransactionRunner, batch: Batch): Promise<BatchResult> {
    if (this.options.dryRun) return this.writer.predictBatch(batch.bars, this.options.onConflict);
    return transactions.run(async (tx) => {
      const result = await this.writer.writeBatch(tx, batch.bars, this.options.onConflict, {
        expectConflicts: this.expectConflicts,
      });
      await this.uploads.addCommitted(tx, this.options.uploadId, result.counts);
      return result;
    });
  }

  writeInto(tx: QueryRunner, batch: Batch): Promise<BatchResult> {
    return this.writer.writeBatch(tx, batch.bars, this.options.onConflict, {
      expectConflicts: this.expectConflicts,
    });
  }

  private account(batch: Batch, { counts, conflicts }: BatchResult): void {
    if (!this.options.atomic && !this.options.dryRun) {
      countIngest(this.options.source ?? 'csv', counts);
    }
    if (counts.updated + counts.skipped + conflicts.length > counts.inserted) {
      this.expectConflicts = true;
    }
    this.report.inserted += counts.inserted;
    this.report.updated += counts.updated;
    this.report.skipped += counts.skipped;
    for (const i of conflicts) {
      const bar = batch.bars[i];
      const line = batch.lines[i];
      this.reject({ line, fields: batch.fields[i] ?? [] }, [
        {
          line,
          column: batch.dateColumn,
          value: bar.date,
          code: 'ALREADY_EXISTS',
          message: alreadyExistsMessage(bar),
        },
      ]);
    }
  }

  /** Validates one record; answers the bar, or records why not. */
  private check(record: CsvRecord, columns: ColumnMap, header: string[]): BarRecord | undefined {
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
      return undefined;
    }
    const i = columns.index;
    const raw: RawBar = {
      symbol: i.symbol !== undefined ? fields[i.symbol] : this.options.symbol,
      date: fields[i.date!],
      open: fields[i.open!],
      high: fields[i.high!],
      low: fields[i.low!],
      close: fields[i.close!],
      adjClose: i.adjClose !== undefined ? fields[i.adjClose] : undefined,
      volume: fields[i.volume!],
    };
    const result = this.validate(raw);
    if (!result.ok) {
      this.reject(
        record,
        result.errors.map((e) => ({
          line,
          column: columnName(columns, header, e.field),
          value: truncate(cellOf(raw[e.field])),
          code: e.code,
          message: e.message,
        })),
      );
      return undefined;
    }
    if (!this.duplicates.add(result.bar.symbol, result.bar.date)) {
      this.reject(record, [
        {
          line,
          column: columnName(columns, header, 'date'),
          value: String(raw.date),
          code: 'DUPLICATE_IN_FILE',
          message: `${result.bar.symbol} ${result.bar.date} appears earlier in this file`,
        },
      ]);
      return undefined;
    }
    return result.bar;
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

function newBatch(columns: ColumnMap): Batch {
  return { bars: [], lines: [], fields: [], dateColumn: columns.name.date ?? 'date' };
}

function columnName(columns: ColumnMap, header: string[], field: BarField): string {
  const name = columns.name[field];
  if (name !== undefined) return name;
  return field === 'symbol'
    ? 'symbol (query parameter)'
    : (header[columns.index[field] ?? -1] ?? field);
}

/** CSV cells are strings; the query symbol stands in as a string too. */
function cellOf(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function truncate(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
