import { ProblemFieldError } from '@app/common';
import { SYMBOL_PATTERN } from '@app/ingest';

/** At most this many symbols in one `symbols=` list. */
export const MAX_SYMBOLS = 100;

export const SYMBOL_MESSAGES = {
  symbol: 'symbol must be 1-32 characters of A-Z 0-9 . - ^ = _ / :',
  symbols: `symbols must be a comma-separated list of 1 to ${MAX_SYMBOLS} symbols, each 1-32 characters of A-Z 0-9 . - ^ = _ / :`,
  both: 'give symbol or symbols, not both',
} as const;

/** One symbol as the rule set stores it (trimmed, upper-cased), or undefined when invalid. */
export function parseSymbol(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const s = value.trim().toUpperCase();
  return SYMBOL_PATTERN.test(s) ? s : undefined;
}

/**
 * `symbols=AAPL,msft, BRK.B`: trimmed, upper-cased, duplicates dropped, order kept; undefined
 * when it is not a list of 1..MAX_SYMBOLS valid symbols.
 */
export function parseSymbolList(value: unknown): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  const list = [...new Set(value.split(',').map(parseSymbol))];
  if (list.length === 0 || list.length > MAX_SYMBOLS || list.includes(undefined)) return undefined;
  return list as string[];
}

/**
 * `symbol=` or `symbols=A,B,C` (exclusive), as a list of distinct symbols in the order given;
 * `undefined` when neither is present. Problems are pushed to `errors`, one per parameter.
 */
export function parseSymbolsParam(
  query: Record<string, unknown>,
  errors: ProblemFieldError[],
): string[] | undefined {
  const { symbol, symbols } = query;
  if (symbol !== undefined && symbols !== undefined) {
    errors.push({ field: 'symbols', message: SYMBOL_MESSAGES.both });
    return undefined;
  }
  if (symbol !== undefined) {
    const s = parseSymbol(symbol);
    if (s === undefined) errors.push({ field: 'symbol', message: SYMBOL_MESSAGES.symbol });
    return s === undefined ? undefined : [s];
  }
  if (symbols === undefined) return undefined;
  const list = parseSymbolList(symbols);
  if (list === undefined) errors.push({ field: 'symbols', message: SYMBOL_MESSAGES.symbols });
  return list;
}
