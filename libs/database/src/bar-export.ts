import { AppError } from '@app/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Inject, Injectable } from '@nestjs/common';
import { pipeline, Readable, Transform, TransformCallback } from 'node:stream';
import type { BarCursor, BarSelection } from './bar-cursor';
import { BarRow, CSV_HEADER_LINE, rowCsvLine, toBar } from './bar-row';
import { HistoricalDataRepository } from './historical-data.repository';

export type ExportFormat = 'csv' | 'ndjson';

export const EXPORT_FORMATS: Record<ExportFormat, { contentType: string; extension: string }> = {
  csv: { contentType: 'text/csv; charset=utf-8', extension: 'csv' },
  ndjson: { contentType: 'application/x-ndjson; charset=utf-8', extension: 'ndjson' },
};

/** What each format writes: a header, then one line per table row. */
export const EXPORT_LINES: Record<ExportFormat, { header: string; line: (row: BarRow) => string }> =
  {
    csv: { header: CSV_HEADER_LINE, line: rowCsvLine },
    // JSON.stringify of the API's Bar, as GET /api/v1/data serves it.
    ndjson: { header: '', line: (row) => `${JSON.stringify(toBar(row))}\n` },
  };

/** Seconds a client refused with EXPORTS_BUSY is asked to wait (Retry-After). */
export const EXPORTS_BUSY_RETRY_AFTER_S = 5;

/**
 * Batches of lines (the cursor's chunks) to text: one string, so one socket write (or one zlib
 * input), per batch of up to CURSOR_BATCH_ROWS lines; `header` first, even with no lines.
 */
class LineJoiner extends Transform {
  constructor(private header: string) {
    super({ writableObjectMode: true, writableHighWaterMark: 1 });
  }

  override _transform(lines: string[], _enc: BufferEncoding, done: TransformCallback): void {
    const out = this.header + lines.join('');
    this.header = '';
    done(null, out);
  }

  override _flush(done: TransformCallback): void {
    done(null, this.header || undefined);
  }
}

/** A running export: its bytes, and how many bars have been read so far. */
export class BarExport {
  readonly body: Readable;

  /** `cursor` hands on the format's lines (EXPORT_LINES[format].line of each row). */
  constructor(
    private readonly cursor: BarCursor<string>,
    format: ExportFormat,
  ) {
    // pipeline: an error anywhere destroys every stage (the cursor stops its statement) and
    // surfaces on `body`; destroying `body` stops the cursor too.
    this.body = pipeline(cursor, new LineJoiner(EXPORT_LINES[format].header), () => undefined);
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

  constructor(
    private readonly repository: HistoricalDataRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Exports whose cursor is still open (operators' view; tests check that cursors stop). */
  get active(): readonly BarExport[] {
    return [...this.running];
  }

  /**
   * Starts an export, or refuses with 503 EXPORTS_BUSY when EXPORT_MAX_CONCURRENT are running:
   * each holds a database connection (MySQL) and a share of the CPU for as long as its client
   * reads, so the bound is checked here, never queued behind.
   */
  open(selection: BarSelection, format: ExportFormat): BarExport {
    const max = this.config.exports.maxConcurrent;
    if (this.running.size >= max) {
      throw new AppError(
        'EXPORTS_BUSY',
        `${max} export${max === 1 ? ' is' : 's are'} already running (EXPORT_MAX_CONCURRENT); retry in ${EXPORTS_BUSY_RETRY_AFTER_S} s.`,
        { headers: { 'Retry-After': String(EXPORTS_BUSY_RETRY_AFTER_S) } },
      );
    }
    const cursor = this.repository.streamBars(selection, EXPORT_LINES[format].line);
    const exported = new BarExport(cursor, format);
    this.running.add(exported);
    cursor.once('close', () => this.running.delete(exported));
    return exported;
  }
}
