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
const decimal = (n: number): string => {
  const s = String(n);
  return s.includes('e') ? n.toFixed(8) : s;
};

/**
 * Bars as LOAD DATA reads them: tab-separated, `\N` for NULL. Symbols, dates and numbers never
 * contain tabs, newlines or backslashes (the rule set guarantees it), so nothing needs escaping.
 */
export function toTsv(bars: readonly BarRecord[]): string {
  let out = '';
  for (const b of bars) {
    out += `${b.symbol}\t${b.date}\t${decimal(b.open)}\t${decimal(b.high)}\t${decimal(b.low)}\t${decimal(b.close)}\t${
      b.adjClose === null ? '\\N' : decimal(b.adjClose)
    }\t${b.volume}\n`;
  }
  return out;
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
    for (const { symbol, date } of bars) {
      const span = this.spans.get(symbol);
      if (!span) this.spans.set(symbol, { rows: 1, first: date, last: date });
      else {
        span.rows++;
        if (date < span.first) span.first = date;
        if (date > span.last) span.last = date;
      }
    }
    this.rows += bars.length;
    const bytes = Buffer.from(toTsv(bars));
    this.kept.push(bytes);
    const live = this.live;
    if (live && !live.write(bytes)) {
      // The reader went away (its statement failed)? Then stop waiting for it.
      await Promise.race([once(live, 'drain'), this.liveClosed]);
    }
  }

  /** No more rows: the live stream ends (the statement then completes). */
  end(): void {
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
