import { Readable } from 'node:stream';

export interface DemoBarsOptions {
  rows: number;
  symbols: number;
  /** Last trading day of the series (UTC); defaults to the most recent weekday. */
  endDate?: Date;
  /** Same seed, same file. */
  seed?: number;
}

export const DEMO_HEADER = 'symbol,date,open,high,low,close,adj_close,volume\n';

/** mulberry32: a small, fast, seedable PRNG (reproducible demo data). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const round = (n: number, d: number): string => n.toFixed(d);

/** The last `count` weekdays up to `end`, oldest first, as YYYY-MM-DD. */
function tradingDays(end: Date, count: number): string[] {
  const days: string[] = [];
  const t = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()));
  while (days.length < count) {
    const dow = t.getUTCDay();
    if (dow !== 0 && dow !== 6) days.push(t.toISOString().slice(0, 10));
    t.setUTCDate(t.getUTCDate() - 1);
  }
  return days.reverse();
}

/**
 * Realistic synthetic daily bars as CSV: per symbol a geometric random walk with its own drift
 * and volatility, weekdays only, intraday range around open and close, volume that rises with
 * the size of the move, and an adjusted close that trails the close (dividends). The same
 * options always give the same file.
 */
export function demoBarsCsv(options: DemoBarsOptions): Readable {
  const symbols = Math.max(1, Math.min(options.symbols, options.rows));
  const perSymbol = Math.ceil(options.rows / symbols);
  const days = tradingDays(options.endDate ?? new Date(), perSymbol);
  const random = prng(options.seed ?? 42);
  const gauss = (): number =>
    Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  let symbolIndex = 0;
  let emitted = 0;

  function* lines(): Generator<string> {
    yield DEMO_HEADER;
    for (; symbolIndex < symbols; symbolIndex++) {
      const symbol = `DEMO${String(symbolIndex).padStart(3, '0')}`;
      const drift = (random() - 0.4) * 0.0008;
      const vol = 0.008 + random() * 0.025;
      const baseVolume = 200_000 + random() * 20_000_000;
      let close = 10 + random() * 400;
      let chunk = '';
      for (let d = 0; d < days.length && emitted < options.rows; d++, emitted++) {
        const open = close * (1 + gauss() * vol * 0.3);
        close = Math.max(0.5, open * Math.exp(drift + gauss() * vol));
        const high = Math.max(open, close) * (1 + Math.abs(gauss()) * vol * 0.5);
        const low = Math.min(open, close) * (1 - Math.abs(gauss()) * vol * 0.5);
        const move = Math.abs(close - open) / open / vol;
        const volume = Math.round(baseVolume * (0.6 + random() * 0.6 + move * 0.4));
        const adj = close * (1 - (days.length - d) * 0.00002);
        chunk += `${symbol},${days[d]},${round(open, 4)},${round(high, 4)},${round(low, 4)},${round(close, 4)},${round(adj, 4)},${volume}\n`;
        if (chunk.length > 65_536) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    }
  }
  return Readable.from(lines());
}
