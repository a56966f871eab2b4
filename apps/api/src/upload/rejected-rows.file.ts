import type { UploadRowError } from '@app/database';
import type { CsvRecord } from '@app/ingest';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';

const CSV_SPECIAL = /[",\r\n]/;
const cell = (v: string | number): string => {
  const s = String(v);
  return CSV_SPECIAL.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export const REJECTED_HEADER = 'line,code,column,value,message,record\n';

/**
 * The rejected rows of one upload, as CSV: one line per rejected record with its first error,
 * and the record as it was in the file (re-joined with commas), ready to fix and upload again.
 * Opened on the first rejection; an upload with none leaves no file.
 */
export class RejectedRowsFile {
  private out?: Writable;

  constructor(
    readonly path: string,
    private readonly open: (path: string) => Writable = (p) => createWriteStream(p),
  ) {}

  /**
   * Queues one rejected record. When the file's buffer is full (a file of mostly bad rows on a
   * slow disk), answers a promise that settles once it drained: the ingest waits for it, so the
   * rejected rows never pile up in memory.
   */
  add(record: CsvRecord, errors: UploadRowError[]): Promise<void> | undefined {
    if (!this.out) {
      this.out = this.open(this.path).on('error', () => undefined);
      this.out.write(REJECTED_HEADER);
    }
    const e = errors[0];
    const ok = this.out.write(
      `${[e.line, e.code, e.column, e.value, e.message, record.fields.map(cell).join(',')].map(cell).join(',')}\n`,
    );
    const out = this.out;
    // A failed file (disk full) is given up on; it must not stall the upload.
    if (ok || out.destroyed) return undefined;
    return new Promise((resolve) => {
      const done = (): void => {
        out.off('drain', done);
        out.off('close', done);
        resolve();
      };
      out.on('drain', done);
      out.on('close', done);
    });
  }

  close(): Promise<void> {
    const out = this.out;
    if (!out) return Promise.resolve();
    return new Promise((resolve) => out.end(resolve));
  }
}
