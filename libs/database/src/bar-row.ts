import type { Bar } from './historical-data.types';

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

/** A bar as the table holds it: numbers, or (export connections) DECIMAL and BIGINT as text. */
export interface BarRow {
  id: number | string;
  symbol: string;
  date: string;
  open: number | string;
  high: number | string;
  low: number | string;
  close: number | string;
  adj_close: number | string | null;
  volume: number | string;
}

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
 * A DECIMAL's text (`"187.15000000"`) as JavaScript writes the number it stands for
 * (`String(Number(s))`: `"187.15"`), without going through a double: trailing zeros dropped.
 * Exact whenever the trimmed text has at most 15 characters (so at most 15 significant digits,
 * which a double holds exactly) and is not below 1e-6 (where JavaScript switches to exponent
 * notation); anything else takes the round trip. Besides the float parse it skips, V8 allocates
 * every number-to-string result in the old generation (it may enter the number-string cache), so
 * a million converted prices grow the heap until the next full collection.
 */
export function decimalText(s: string): string {
  const dot = s.indexOf('.');
  let end = s.length;
  if (dot !== -1) {
    while (s.charCodeAt(end - 1) === 48 /* 0 */) end--;
    if (end - 1 === dot) end--;
  }
  const t = end === s.length ? s : s.slice(0, end);
  if (
    t.length <= 15 &&
    t !== '-0' &&
    !t.startsWith('0.000000') &&
    !t.startsWith('-0.000000') &&
    !t.startsWith('+') &&
    !(t.length > 1 && t.charCodeAt(0) === 48 /* 0 */ && t.charCodeAt(1) !== 46) /* leading 0 */
  )
    return t;
  return String(Number(s));
}

/**
 * The one place where driver differences (DECIMAL and BIGINT as strings on mysql2) are normalised.
 * The read pool's settings deliver numbers, so `+x` is a no-op there; the export connections hand
 * over text. Two object literals, not a literal plus a late property, so every
 * bar has one of two fixed shapes (hot path: 100 of these per page).
 */
export function toBar(row: BarRow): Bar {
  return row.adj_close === null
    ? {
        id: +row.id,
        symbol: row.symbol,
        date: row.date,
        open: +row.open,
        high: +row.high,
        low: +row.low,
        close: +row.close,
        volume: +row.volume,
      }
    : {
        id: +row.id,
        symbol: row.symbol,
        date: row.date,
        open: +row.open,
        high: +row.high,
        low: +row.low,
        close: +row.close,
        adjClose: +row.adj_close,
        volume: +row.volume,
      };
}

const numberText = (v: number | string): string =>
  typeof v === 'string' ? decimalText(v) : String(v);

/**
 * A bar as one CSV line (`\n`-terminated): the bytes fast-csv's formatter writes for the row
 * `[symbol, date, open, high, low, close, adj_close ?? '', volume]` (bar-export.spec.ts holds
 * the two together on random bars). Written by hand: fast-csv's per-row arrays, per-field regular
 * expressions and one string per row cost more than the database read (ARCHITECTURE.md, "The
 * export").
 */
export const barCsvLine = (b: Bar): string =>
  `${csvText(b.symbol)},${b.date},${b.open},${b.high},${b.low},${b.close},${b.adjClose ?? ''},${b.volume}\n`;

/**
 * A table row as the same CSV line as barCsvLine writes for its Bar, straight from the driver's
 * values: DECIMAL text trimmed (decimalText), BIGINT text as is.
 */
export const rowCsvLine = (r: BarRow): string =>
  `${csvText(r.symbol)},${r.date},${numberText(r.open)},${numberText(r.high)},${numberText(r.low)},${numberText(r.close)},${r.adj_close === null ? '' : numberText(r.adj_close)},${r.volume}\n`;
