import type { BarField } from './bar.rules';

/** Canonical column names of the CSV format, and the RawBar field each fills. */
const CANONICAL: Record<string, BarField> = {
  symbol: 'symbol',
  date: 'date',
  open: 'open',
  high: 'high',
  low: 'low',
  close: 'close',
  adj_close: 'adjClose',
  volume: 'volume',
};

/** Common spellings in broker, Yahoo Finance and Stooq exports. An exact canonical name wins over an alias. */
const ALIASES: Record<string, BarField> = {
  ticker: 'symbol',
  timestamp: 'date',
  time: 'date',
  vol: 'volume',
  adjclose: 'adjClose',
  adjusted_close: 'adjClose',
};

export const REQUIRED_COLUMNS = [
  'symbol',
  'date',
  'open',
  'high',
  'low',
  'close',
  'volume',
] as const;

/** "Adj Close", "<VOL>", " Date\uFEFF" → "adj_close", "vol", "date". */
export function normaliseHeaderName(raw: string): string {
  return raw
    .replace(/^\uFEFF/, '')
    .replace(/[<>]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[\s.-]+/g, '_');
}

export interface ColumnMap {
  /** Column index of each field present in the file. */
  index: Partial<Record<BarField, number>>;
  /** The file's own name of each mapped column, for error reports. */
  name: Partial<Record<BarField, string>>;
  /** Required columns the file lacks (canonical names). */
  missing: string[];
  width: number;
}

/**
 * Maps a header row onto bar fields. `symbolFromQuery` stands in for a missing symbol column
 * (Yahoo exports have none). Extra columns are ignored.
 */
export function mapHeader(fields: string[], symbolFromQuery: boolean): ColumnMap {
  const index: ColumnMap['index'] = {};
  const name: ColumnMap['name'] = {};
  const viaAlias = new Set<BarField>();
  fields.forEach((raw, i) => {
    const key = normaliseHeaderName(raw);
    const exact = CANONICAL[key];
    const alias = ALIASES[key];
    if (exact && (index[exact] === undefined || viaAlias.has(exact))) {
      index[exact] = i;
      name[exact] = raw.trim();
      viaAlias.delete(exact);
    } else if (alias && index[alias] === undefined) {
      index[alias] = i;
      name[alias] = raw.trim();
      viaAlias.add(alias);
    }
  });
  const missing = REQUIRED_COLUMNS.filter(
    (c) => index[CANONICAL[c]] === undefined && !(c === 'symbol' && symbolFromQuery),
  );
  return { index, name, missing, width: fields.length };
}
