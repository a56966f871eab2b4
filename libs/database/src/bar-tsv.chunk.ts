import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import type { BarRecord } from './historical-data.types';

/** Per symbol of a chunk: how many rows, and its earliest and latest date. */
export interface SymbolSpan {
  rows: number;
  first: string;
  last: string;
}

/** Numbers as MySQL reads them without loss: plain decimals, never exponent notation. */
const TAB = 9;
const NEWLINE = 10;

const decimal = (n: number): string => {
  const s = String(n);
  return s.includes('e') ? n.toFixed(8) : s;
};

/**
 * The source text of a bar's numbers (a CSV record's cells), when the caller has it: a cell that
 * is plain digits (at most 15, one point at most) and reads as exactly the bar's number goes into
 * the TSV as it is, sparing a number-to-text conversion per value. Such text and the number's own
 * printing are the same decimal value (DBL_DIG), so MySQL stores what the INSERT path would.
 */
export type BarTexts = Readonly<
  Partial<Record<'open' | 'high' | 'low' | 'close' | 'adjClose' | 'volume', unknown>>
>;

/**
 * Digits with at most one point (`150.2300`, `7`, `5.`) and no more than 15 digits in all: such
 * text reads as a double that prints back to the same decimal value (DBL_DIG). Answers how many
 * digits follow the point, or -1 for any other text. The common case of every CSV number, read
 * without a regex (the rule set's fast path, and the TSV's).
 */
export function plainDecimalPlaces(text: string): number {
  const n = text.length;
  if (n === 0 || n > 16) return -1;
  let point = -1;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (point !== -1 || i === 0) return -1;
      point = i;
    } else if (c < 48 || c > 57) return -1;
  }
  if (point === -1) return n > 15 ? -1 : 0;
  return n - point - 1;
}

/** `n` as TSV text: its source text when that is plain and exactly `n`, else `decimal(n)`. */
const number = (n: number, text: unknown): string =>
  typeof text === 'string' && plainDecimalPlaces(text) !== -1 && +text === n ? text : decimal(n);

/**
 * One bar as LOAD DATA reads it: tab-separated, `\N` for NULL, newline-terminated. Symbols, dates
 * and numbers never contain tabs, newlines or backslashes (the rule set guarantees it), so nothing
 * needs escaping.
 */
export function tsvLine(b: BarRecord, texts: BarTexts = {}): string {
  return `${b.symbol}\t${b.date}\t${number(b.open, texts.open)}\t${number(b.high, texts.high)}\t${number(b.low, texts.low)}\t${number(b.close, texts.close)}\t${
    b.adjClose === null ? '\\N' : number(b.adjClose, texts.adjClose)
  }\t${number(b.volume, texts.volume)}\n`;
}

/** Bars as LOAD DATA reads them (tsvLine each). */
export function toTsv(bars: readonly BarRecord[]): string {
  let out = '';
  for (const b of bars) out += tsvLine(b);
  return out;
}

/** Bytes encoded into one buffer before it goes to the live stream. */
const SLICE_BYTES = 64 * 1024;
/** Room one TSV line may need: a 32-character symbol, a date, six numbers of at most 25 characters. */
const MAX_LINE_BYTES = 256;

/** Writes ASCII `text` into `buf` at `at`; answers the position after it. */
function put(buf: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) buf[at++] = text.charCodeAt(i);
  return at;
}

/** Bytes the live stream buffers before the producer waits for the database to read them. */
const LIVE_HIGH_WATER = 1 << 20;

/**
 * One chunk of a bulk load: valid bars encoded as TSV once, streamed to a running
 * `LOAD DATA LOCAL INFILE` while the file is still being parsed, and kept (a few MB) so the
 * chunk can be read again — by the staging path after a rollback to savepoint, or by a retried
 * transaction. The first `stream()` is the live one; later ones replay the kept bytes once the
 * producer has ended the chunk.
 */
export class TsvChunk {
  rows = 0;
  readonly spans = new Map<string, SymbolSpan>();
  private readonly kept: Buffer[] = [];
  /** The slice being encoded (not yet handed to the live stream), and how much of it is used. */
  private slice = Buffer.allocUnsafe(SLICE_BYTES);
  private used = 0;
  /** The span of the last row's symbol: files come grouped by symbol. */
  private lastSymbol?: string;
  private lastSpan?: SymbolSpan;
  private live: PassThrough | undefined = new PassThrough({ highWaterMark: LIVE_HIGH_WATER });
  private liveTaken = false;
  private aborted?: Error;
  private readonly liveClosed: Promise<unknown>;
  private readonly ended: Promise<void>;
  private markEnded!: () => void;

  constructor() {
    this.ended = new Promise((resolve) => (this.markEnded = resolve));
    this.liveClosed = once(this.live!, 'close').catch(() => undefined);
  }

  /** Adds a batch; resolves when the live reader has room for more (backpressure). */
  async add(bars: readonly BarRecord[]): Promise<void> {
    for (const bar of bars) this.addRow(bar);
    await this.settled();
  }

  /**
   * Adds one bar, encoded at once (nothing of the bar is kept; `texts` as in tsvLine). Answers
   * false when the caller should await `settled()` before adding more (backpressure).
   */
  addRow(bar: BarRecord, texts?: BarTexts): boolean {
    const { symbol, date } = bar;
    let span = this.lastSpan;
    if (symbol !== this.lastSymbol || !span) {
      span = this.spans.get(symbol);
      if (!span) {
        span = { rows: 0, first: date, last: date };
        this.spans.set(symbol, span);
      }
      this.lastSymbol = symbol;
      this.lastSpan = span;
    }
    span.rows++;
    if (date < span.first) span.first = date;
    if (date > span.last) span.last = date;
    this.rows++;
    // Straight into bytes, character by character: no string is built per row.
    const buf = this.slice;
    let at = put(buf, this.used, symbol);
    buf[at++] = TAB;
    at = put(buf, at, date);
    buf[at++] = TAB;
    at = put(buf, at, number(bar.open, texts?.open));
    buf[at++] = TAB;
    at = put(buf, at, number(bar.high, texts?.high));
    buf[at++] = TAB;
    at = put(buf, at, number(bar.low, texts?.low));
    buf[at++] = TAB;
    at = put(buf, at, number(bar.close, texts?.close));
    buf[at++] = TAB;
    at = put(buf, at, bar.adjClose === null ? '\\N' : number(bar.adjClose, texts?.adjClose));
    buf[at++] = TAB;
    at = put(buf, at, number(bar.volume, texts?.volume));
    buf[at++] = NEWLINE;
    this.used = at;
    return at <= SLICE_BYTES - MAX_LINE_BYTES || this.flushSlice();
  }

  /** Resolves once the encoded rows are handed over and the live reader has room for more. */
  async settled(): Promise<void> {
    if (this.used) this.flushSlice();
    const live = this.live;
    // The reader went away (its statement failed)? Then stop waiting for it.
    if (live?.writableNeedDrain) await Promise.race([once(live, 'drain'), this.liveClosed]);
  }

  /** The encoded rows, kept and written live; false when the live reader is full. */
  private flushSlice(): boolean {
    const bytes = this.slice.subarray(0, this.used);
    this.slice = Buffer.allocUnsafe(SLICE_BYTES);
    this.used = 0;
    this.kept.push(bytes);
    const live = this.live;
    return !live || live.write(bytes);
  }

  /** No more rows: the live stream ends (the statement then completes). */
  end(): void {
    if (this.used) this.flushSlice();
    this.live?.end();
    this.markEnded();
  }

  /** The TSV bytes: live on the first call, replayed (after `end`) on later ones. */
  stream(): Readable {
    const aborted = this.aborted;
    if (aborted) return new Readable({ read: () => undefined }).destroy(aborted);
    if (!this.liveTaken && this.live) {
      this.liveTaken = true;
      return this.live;
    }
    this.abandonLive();
    const kept = this.kept;
    const ended = this.ended;
    const reason = (): Error | undefined => this.aborted;
    return Readable.from(
      (async function* () {
        await ended;
        const failed = reason();
        if (failed) throw failed;
        yield* kept;
      })(),
    );
  }

  /** The input failed: the statement reading this chunk fails with `reason` (and rolls back). */
  abort(reason: Error): void {
    this.aborted = reason;
    const live = this.live;
    this.live = undefined;
    live?.destroy(reason);
    this.markEnded();
  }

  /** The live reader failed: the producer no longer feeds or waits for it. */
  abandonLive(): void {
    const live = this.live;
    this.live = undefined;
    live?.destroy();
  }
}
