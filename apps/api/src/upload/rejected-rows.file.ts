import type { UploadRowError } from '@app/database';
import type { CsvRecord } from '@app/ingest';
import { createWriteStream, WriteStream } from 'node:fs';

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
  private out?: WriteStream;

  constructor(readonly path: string) {}

  add(record: CsvRecord, errors: UploadRowError[]): void {
    if (!this.out) {
      this.out = createWriteStream(this.path).on('error', () => undefined);
      this.out.write(REJECTED_HEADER);
    }
    const e = errors[0];
    this.out.write(
      `${[e.line, e.code, e.column, e.value, e.message, record.fields.map(cell).join(',')].map(cell).join(',')}\n`,
    );
  }

  close(): Promise<void> {
    const out = this.out;
    if (!out) return Promise.resolve();
    return new Promise((resolve) => out.end(resolve));
  }
}
