import { Injectable } from '@nestjs/common';
import { format as csvFormat } from 'fast-csv';
import { pipeline, Readable, Transform, TransformCallback } from 'node:stream';
import type { BarCursor, BarSelection } from './bar-cursor';
import { HistoricalDataRepository } from './historical-data.repository';
import type { Bar } from './historical-data.types';

export type ExportFormat = 'csv' | 'ndjson';

export const EXPORT_FORMATS: Record<ExportFormat, { contentType: string; extension: string }> = {
  csv: { contentType: 'text/csv; charset=utf-8', extension: 'csv' },
  ndjson: { contentType: 'application/x-ndjson; charset=utf-8', extension: 'ndjson' },
};

/** The CSV columns, in order: what `pandas.read_csv` names the DataFrame's columns. */
export const CSV_HEADER = [
  'symbol',
  'date',
  'open',
  'high',
  'low',
  'close',
  'adj_close',
  'volume',
] as const;

/** Bytes handed on at a time: one socket write (or one zlib input) per ~64 KiB, not per row. */
const CHUNK_BYTES = 64 * 1024;

type CsvRow = (string | number)[];

/** A bar as a CSV record; a missing adj_close is an empty field (NaN in pandas). */
const csvRow = (b: Bar): CsvRow => [
  b.symbol,
  b.date,
  b.open,
  b.high,
  b.low,
  b.close,
  b.adjClose ?? '',
  b.volume,
];

/** Gathers small buffers (fast-csv writes one per row) into CHUNK_BYTES pieces. */
class Coalesce extends Transform {
  private parts: Buffer[] = [];
  private size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.parts.push(chunk);
    this.size += chunk.length;
    if (this.size >= CHUNK_BYTES) this.release();
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.size) this.release();
    done();
  }

  private release(): void {
    this.push(Buffer.concat(this.parts, this.size));
    this.parts = [];
    this.size = 0;
  }
}

/** One bar per line, as the API's Bar JSON (JSON.stringify of the repository's Bar). */
class NdjsonLines extends Transform {
  private pending = '';

  constructor() {
    super({ writableObjectMode: true });
  }

  override _transform(bar: Bar, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending += `${JSON.stringify(bar)}\n`;
    if (this.pending.length >= CHUNK_BYTES) {
      this.push(this.pending);
      this.pending = '';
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.pending) this.push(this.pending);
    done();
  }
}

/** A running export: its bytes, and how many bars have been read so far. */
export class BarExport {
  readonly body: Readable;

  constructor(
    private readonly cursor: BarCursor<Bar>,
    format: ExportFormat,
  ) {
    // pipeline: an error anywhere destroys every stage (the cursor stops its statement) and
    // surfaces on `body`; destroying `body` stops the cursor too.
    const done = (): void => undefined;
    this.body =
      format === 'csv'
        ? pipeline(
            cursor,
            csvFormat<Bar, CsvRow>({
              headers: [...CSV_HEADER],
              alwaysWriteHeaders: true,
              includeEndRowDelimiter: true,
              transform: csvRow,
            }),
            new Coalesce(),
            done,
          )
        : pipeline(cursor, new NdjsonLines(), done);
  }

  get rows(): number {
    return this.cursor.rows;
  }
}

const safe = (s: string): string => s.replace(/[^A-Za-z0-9.-]+/g, '_');

/**
 * The file name an export suggests (Content-Disposition, CLI default): what it holds, in
 * characters every file system and shell accepts (^GSPC → _GSPC).
 */
export function exportFileName(selection: BarSelection, format: ExportFormat): string {
  const symbols = selection.symbols ? [...new Set(selection.symbols)].sort() : [];
  const parts = ['bars'];
  if (symbols.length === 0) parts.push('all');
  else if (symbols.length <= 3) parts.push(...symbols.map(safe));
  else parts.push(`${symbols.length}-symbols`);
  if (selection.startDate && selection.endDate)
    parts.push(selection.startDate, 'to', selection.endDate);
  else if (selection.startDate) parts.push('from', selection.startDate);
  else if (selection.endDate) parts.push('to', selection.endDate);
  return `${parts.join('_')}.${EXPORT_FORMATS[format].extension}`;
}

/**
 * Bars out as CSV or NDJSON, streamed from a database cursor: the one exporter behind
 * GET /api/v1/data/export and the CLI's `export`, so both write the same bytes.
 * CSV: fast-csv's formatter, header CSV_HEADER, `\n` line ends (the last line too), fields quoted
 * only when needed (never, for the rule set's symbols). Order: symbol, then date.
 */
@Injectable()
export class BarExporter {
  private readonly running = new Set<BarExport>();

  constructor(private readonly repository: HistoricalDataRepository) {}

  /** Exports whose cursor is still open (operators' view; tests check that cursors stop). */
  get active(): readonly BarExport[] {
    return [...this.running];
  }

  open(selection: BarSelection, format: ExportFormat): BarExport {
    const cursor = this.repository.streamBars(selection);
    const exported = new BarExport(cursor, format);
    this.running.add(exported);
    cursor.once('close', () => this.running.delete(exported));
    return exported;
  }
}
