import type { RejectedRow, UploadRowError, UploadsRepository } from '@app/database';
import type { CsvRecord } from '@app/ingest';
import { Readable } from 'node:stream';

const CSV_SPECIAL = /[",\r\n]/;
const cell = (v: string | number): string => {
  const s = String(v);
  return CSV_SPECIAL.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export const REJECTED_HEADER = 'line,code,column,value,message,record\n';

/** Rejected rows kept per upload; past it the errors CSV ends with the first ones. */
export const REJECTED_ROWS_KEPT = 100_000;
const FLUSH_ROWS = 500;
/** Batches that may wait for the database before add() asks the ingest to wait. */
const MAX_PENDING_FLUSHES = 2;

/**
 * The rejected rows of one upload, kept in the database (upload_rejected_rows) so that
 * GET /api/v1/uploads/:id/errors answers the same from every replica: one row per rejected record
 * with its first error and the record as it was in the file, written in batches as the upload
 * runs, at most REJECTED_ROWS_KEPT per upload.
 */
export class RejectedRowsStore {
  private buffer: RejectedRow[] = [];
  private kept = 0;
  private writing: Promise<void> = Promise.resolve();
  private pending = 0;
  private failure?: Error;

  constructor(
    private readonly uploads: UploadsRepository,
    readonly uploadId: string,
  ) {}

  /**
   * Queues one rejected record. While more than MAX_PENDING_FLUSHES batches wait for the database
   * (a file of mostly bad rows), answers a promise that settles when they are written: the ingest
   * waits for it, so rejected rows never pile up in memory.
   */
  add(record: CsvRecord, errors: UploadRowError[]): Promise<void> | undefined {
    if (this.kept >= REJECTED_ROWS_KEPT) return undefined;
    this.kept++;
    const e = errors[0];
    this.buffer.push({
      line: e.line,
      code: e.code,
      column: e.column,
      value: e.value,
      message: e.message,
      record: record.fields.map(cell).join(','),
    });
    if (this.buffer.length >= FLUSH_ROWS) this.flush();
    return this.pending > MAX_PENDING_FLUSHES ? this.writing : undefined;
  }

  /** Writes what is buffered and waits for every write; rejects with the first failed one. */
  async close(): Promise<void> {
    this.flush();
    await this.writing;
    if (this.failure) throw this.failure;
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    this.pending++;
    this.writing = this.writing.then(() =>
      this.uploads
        .addRejectedRows(this.uploadId, rows)
        .catch((err: Error) => {
          this.failure ??= err;
        })
        .finally(() => this.pending--),
    );
  }
}

/** An upload's rejected rows as the errors CSV, streamed from the database. */
export function rejectedRowsCsv(uploads: UploadsRepository, uploadId: string): Readable {
  return Readable.from(
    (async function* () {
      yield REJECTED_HEADER;
      for await (const batch of uploads.rejectedRows(uploadId)) {
        yield batch
          .map(
            (r) =>
              `${[r.line, r.code, r.column, r.value, r.message, r.record].map(cell).join(',')}\n`,
          )
          .join('');
      }
    })(),
  );
}
