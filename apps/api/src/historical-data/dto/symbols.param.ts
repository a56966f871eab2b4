import { SYMBOL_PATTERN } from '@app/ingest';

/** The most symbols one `symbols=` list may name. */
export const MAX_SYMBOLS = 100;

export const SYMBOLS_MESSAGES = {
  symbols: `symbols must be a comma-separated list of 1 to ${MAX_SYMBOLS} symbols, each 1-32 characters of A-Z 0-9 . - ^ = _ / :`,
  tooMany: `symbols may name at most ${MAX_SYMBOLS} symbols`,
  exclusive: 'give symbol or symbols, not both',
} as const;

/**
 * `symbols=AAPL,msft, BRK.B`: trimmed, upper-cased, repeats dropped (first kept). Answers the list,
 * or the message saying what is wrong with it.
 */
export function parseSymbolsParam(value: unknown): { symbols: string[] } | { error: string } {
  if (typeof value !== 'string') return { error: SYMBOLS_MESSAGES.symbols };
  const symbols = [...new Set(value.split(',').map((s) => s.trim().toUpperCase()))];
  if (symbols.some((s) => !SYMBOL_PATTERN.test(s))) return { error: SYMBOLS_MESSAGES.symbols };
  if (symbols.length > MAX_SYMBOLS) return { error: SYMBOLS_MESSAGES.tooMany };
  return { symbols };
}
