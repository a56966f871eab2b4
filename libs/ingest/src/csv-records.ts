import { parse } from 'fast-csv';
import type { Readable } from 'node:stream';

export interface CsvRecord {
  /** Physical line where the record starts (the header is line 1). */
  line: number;
  fields: string[];
}

export type CsvProblem = 'EMPTY_FILE' | 'NOT_CSV' | 'UNREADABLE_HEADER';

export class CsvFormatError extends Error {
  constructor(
    readonly problem: CsvProblem,
    message: string,
  ) {
    super(message);
    this.name = 'CsvFormatError';
  }
}

/** A record the parser could not split (an unterminated quote runs to the end of the file). */
export class CsvRecordError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'CsvRecordError';
  }
}

const DELIMITERS = [',', ';', '\t'] as const;

/** No real bar needs more than a few hundred bytes; this bounds memory and parsing per line. */
export const MAX_LINE_BYTES = 4 * 1024 * 1024;

class LineTooLongError extends Error {}

/**
 * Bytes handed to the parser per write: fewer than 100 rows of a typical file. fast-csv emits a
 * write's rows at once up to 100, then continues on a later tick (setImmediate); rows that wait
 * for a later tick outlive a young-generation collection and are promoted to the old one, which
 * then grows by the file's size between full collections. Measured on 1M rows: 64 KiB writes
 * promoted 345 MB and spent 1.5 s in scavenges, 4 KiB writes 24 MB and 0.75 s.
 */
const PARSE_SLICE_BYTES = 4 * 1024;

/** The delimiter that occurs most often outside quotes in the header line. */
export function detectDelimiter(headerLine: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best = ',';
  for (const d of DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}

/** NUL bytes or mostly non-text in the first chunk: an image, a zip, a spreadsheet. */
function looksBinary(head: Buffer): boolean {
  const sample = head.subarray(0, 4096);
  if (sample.includes(0)) return true;
  let control = 0;
  for (const byte of sample) if (byte < 9 || (byte > 13 && byte < 32)) control++;
  return sample.length > 0 && control / sample.length > 0.1;
}

/**
 * Reads CSV records from a byte stream with their physical start lines. The header is the first
 * record. Delimiter (comma, semicolon, tab) is detected from the first line; a UTF-8 BOM is
 * dropped; quoted fields may hold delimiters, quotes and newlines; CRLF and LF both work.
 * Empty lines are skipped but counted. Backpressure flows to `source` through async iteration.
 * Records come in arrays: async iteration costs a few promises per step, significant per row at a
 * million rows and negligible per array.
 */
export async function* readCsvRecordBatches(
  source: Readable,
  /** Told the detected delimiter before the first record. */
  onDelimiter?: (delimiter: string) => void,
): AsyncGenerator<CsvRecord[]> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  // Peek until the first line is complete (or 64 KiB) to detect binary input and the delimiter.
  let head = Buffer.alloc(0);
  let done = false;
  while (!done && head.indexOf(10) === -1 && head.length < 65_536) {
    const next = await iterator.next();
    if (next.done) done = true;
    else
      head = Buffer.concat([
        head,
        Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value),
      ]);
  }
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf)
    head = head.subarray(3);
  if (looksBinary(head))
    throw new CsvFormatError('NOT_CSV', 'The file is not CSV text (binary content found).');
  if (head.toString('utf8').trim() === '' && done)
    throw new CsvFormatError('EMPTY_FILE', 'The file is empty.');

  const newline = head.indexOf(10);
  const delimiter = detectDelimiter(
    head.subarray(0, newline === -1 ? head.length : newline).toString('utf8'),
  );
  onDelimiter?.(delimiter);
  const parser = parse({ headers: false, ignoreEmpty: false, delimiter, trim: false });

  // Feed the parser from the source, honouring its backpressure. When the consumer stops early
  // the feeder stops too; the source is left for the caller to close (an HTTP request must stay
  // open long enough to carry the error response).
  let stopped = false;
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        parser.off('drain', done);
        parser.off('close', done);
        resolve();
      };
      parser.on('drain', done);
      parser.on('close', done);
    });
  // fast-csv re-scans an unfinished row on every write, which is quadratic in the row's length:
  // chunks without a newline are held back and written together once one arrives, and a line
  // longer than MAX_LINE_BYTES ends the file as one malformed record.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const feed = async (chunk: Buffer): Promise<void> => {
    if (chunk.indexOf(10) === -1) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes > MAX_LINE_BYTES) throw new LineTooLongError();
      return;
    }
    const out = pending.length ? Buffer.concat([...pending, chunk]) : chunk;
    pending = [];
    pendingBytes = 0;
    // In slices (see PARSE_SLICE_BYTES): a 64 KiB socket read is ~1000 rows.
    // Each slice ends at a line end (a long line goes whole), so no write re-scans a row.
    for (let at = 0; at < out.length;) {
      let end = at + PARSE_SLICE_BYTES;
      if (end >= out.length) end = out.length;
      else {
        const last = out.lastIndexOf(10, end - 1);
        const next = last >= at ? last : out.indexOf(10, end);
        end = next === -1 ? out.length : next + 1;
      }
      if (!parser.write(out.subarray(at, end))) await drained();
      at = end;
    }
  };
  void (async () => {
    try {
      if (head.length) await feed(head);
      while (!done && !stopped) {
        const next = await iterator.next();
        if (next.done || stopped) break;
        await feed(Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value));
      }
      if (stopped) return;
      if (pending.length) parser.write(Buffer.concat(pending));
      parser.end();
    } catch (err) {
      parser.destroy(err as Error);
    }
  })();

  let line = 1;
  try {
    for await (const rows of rowsOf(parser)) {
      const records: CsvRecord[] = [];
      for (const fields of rows) {
        const start = line;
        line += 1;
        for (const f of fields) {
          for (let i = f.indexOf('\n'); i !== -1; i = f.indexOf('\n', i + 1)) line++;
        }
        if (fields.length !== 0) records.push({ line: start, fields });
      }
      if (records.length) yield records;
    }
  } catch (err) {
    if (err instanceof LineTooLongError) {
      throw new CsvRecordError(
        line,
        `line ${line} is longer than ${MAX_LINE_BYTES} bytes; the rest of the file was not read`,
      );
    }
    if (err instanceof Error && err.message.startsWith('Parse Error')) {
      throw new CsvRecordError(
        line,
        `the record starting on line ${line} is malformed (${err.message.replace(/^Parse Error: /, '')})`,
      );
    }
    throw err;
  } finally {
    stopped = true;
    if (!parser.destroyed) parser.destroy();
  }
}

/**
 * The parser's rows, in order, then its error if any. (Async-iterating the stream itself would
 * drop rows still buffered when the parser fails at the end of the file.) The queue is bounded:
 * the parser is paused while it holds more than HIGH_WATER rows, which pushes back on the source.
 */
async function* rowsOf(parser: Readable): AsyncGenerator<string[][]> {
  const HIGH_WATER = 2048;
  let queue: string[][] = [];
  let read = 0;
  let failure: Error | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  parser.on('data', (row: string[]) => {
    queue.push(row);
    if (queue.length - read >= HIGH_WATER) parser.pause();
    notify();
  });
  parser.once('error', (err: Error) => {
    failure = err;
    notify();
  });
  for (const event of ['end', 'close']) {
    parser.once(event, () => {
      ended = true;
      notify();
    });
  }
  for (;;) {
    if (read < queue.length) {
      const rows = read === 0 ? queue : queue.slice(read);
      queue = [];
      read = 0;
      if (parser.isPaused()) parser.resume();
      yield rows;
      continue;
    }
    if (failure) throw failure;
    if (ended) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}
