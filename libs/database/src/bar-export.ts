import { Injectable } from '@nestjs/common';
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

/** The CSV header line. */
export const CSV_HEADER_LINE = `${CSV_HEADER.join(',')}\n`;

/** Characters after which a text field needs fast-csv's treatment (quoting, NUL removal). */
const CSV_SPECIAL = /[\0",\r\n|]/;

/**
 * A text field exactly as fast-csv's formatter writes it with its defaults: NULs dropped; quoted,
 * with quotes doubled, when it holds a quote; quoted when it holds a comma, `|`, CR or LF. The rule
 * set's symbols never do, so the test is all a row pays.
 */
export function csvText(value: string): string {
  if (!CSV_SPECIAL.test(value)) return value;
  const text = value.replace(/\0/g, '');
  if (text.includes('"')) return `"${text.replace(/"/g, '""')}"`;
  return /[,\r\n|]/.test(text) ? `"${text}"` : text;
}

/**
 * A bar as one CSV line (`\n`-terminated): the bytes fast-csv's formatter writes for the row
 * `[symbol, date, open, high, low, close, adj_close ?? '', volume]` (bar-export.spec.ts holds
 * the two together on random bars). Written by hand because fast-csv's per-row arrays, per-field
 * regular expressions and one string per row cost more than the database read (ARCHITECTURE.md,
 * "The export").
 */
export const barCsvLine = (b: Bar): string =>
  `${csvText(b.symbol)},${b.date},${b.open},${b.high},${b.low},${b.close},${b.adjClose ?? ''},${b.volume}\n`;

/** A bar as one NDJSON line: JSON.stringify of the API's Bar. */
const barJsonLine = (b: Bar): string => `${JSON.stringify(b)}\n`;

/**
 * Batches of bars (the cursor's chunks) to text: one string, so one socket write (or one zlib
 * input), per batch of up to CURSOR_BATCH_ROWS bars; `header` first, even with no bars.
 */
class LineEncoder extends Transform {
  private header: string;

  constructor(
    private readonly line: (b: Bar) => string,
    header = '',
  ) {
    super({ writableObjectMode: true, writableHighWaterMark: 1 });
    this.header = header;
  }

  override _transform(bars: Bar[], _enc: BufferEncoding, done: TransformCallback): void {
    let out = this.header;
    this.header = '';
    for (const b of bars) out += this.line(b);
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    done(null, this.header || undefined);
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
    const encoder =
      format === 'csv'
        ? new LineEncoder(barCsvLine, CSV_HEADER_LINE)
        : new LineEncoder(barJsonLine);
    this.body = pipeline(cursor, encoder, () => undefined);
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
 * CSV: fast-csv's format (barCsvLine), header CSV_HEADER, `\n` line ends (the last line too),
 * fields quoted only when needed (never, for the rule set's symbols). Order: symbol, then date.
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
