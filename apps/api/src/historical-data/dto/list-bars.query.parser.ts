import { invalidParameters, ProblemFieldError } from '@app/common';
import { parseSymbol, parseSymbolList, SYMBOL_MESSAGES } from './symbols.param';

/** What GET /api/v1/data's query parameters parse to (ListBarsQueryDto describes them). */
export interface ListBarsQuery {
  symbol?: string;
  /** Any of these (comma list, at most 100); exclusive with `symbol`. */
  symbols?: string[];
  /** Keyset pagination: continue after the page that returned this nextCursor. */
  cursor?: string;
  start_date?: string;
  end_date?: string;
  page: number;
  limit: number;
  sort: 'asc' | 'desc';
}

const KNOWN = new Set([
  'symbol',
  'symbols',
  'start_date',
  'end_date',
  'page',
  'limit',
  'sort',
  'cursor',
]);

const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MAX_PAGE = 10_000_000;

export const MESSAGES = {
  symbol: SYMBOL_MESSAGES.symbol,
  symbols: SYMBOL_MESSAGES.symbols,
  exclusive: SYMBOL_MESSAGES.both,
  cursor: 'cursor must be the pagination.nextCursor of an earlier page',
  date: (name: string) => `${name} must be a real date written YYYY-MM-DD`,
  order: 'end_date must not be before start_date',
  page: 'page must be a whole number >= 1',
  pageMax: `page must be at most ${MAX_PAGE}`,
  limit: 'limit must be a whole number between 1 and 1000',
  sort: 'sort must be asc or desc',
} as const;

/** A real calendar day written YYYY-MM-DD (no 2024-02-30, no 2023-02-29). */
export function isIsoDay(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = ISO_DAY.exec(value);
  if (!m) return false;
  const year = +m[1];
  const month = +m[2];
  const day = +m[3];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  return day <= days;
}

/** A whole number as class-transformer's Number() conversion reads it ("10", " 10", "1e1"). */
function wholeNumber(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isInteger(n) ? n : undefined;
}

/**
 * `start_date` / `end_date`: real days written YYYY-MM-DD, the end not before the start. Problems
 * are pushed to `errors`, one per parameter; the valid dates are answered.
 */
export function parseDateRange(
  query: Record<string, unknown>,
  errors: ProblemFieldError[],
): { start_date?: string; end_date?: string } {
  const out: { start_date?: string; end_date?: string } = {};
  for (const name of ['start_date', 'end_date'] as const) {
    const value = query[name];
    if (value === undefined) continue;
    if (isIsoDay(value)) out[name] = value;
    else errors.push({ field: name, message: MESSAGES.date(name) });
  }
  if (out.start_date !== undefined && out.end_date !== undefined && out.end_date < out.start_date) {
    errors.push({ field: 'end_date', message: MESSAGES.order });
  }
  return out;
}

/**
 * GET /api/v1/data's query, parsed and checked without class instances (hot path). Same rules and
 * messages as the DTO's decorators: unknown parameters are refused, every bad parameter is listed.
 */
export function parseListBarsQuery(query: Record<string, unknown>): ListBarsQuery {
  const errors: ProblemFieldError[] = [];
  const fail = (field: string, message: string): void => {
    errors.push({ field, message });
  };
  for (const name in query) {
    if (!KNOWN.has(name)) fail(name, `${name} is not a known parameter`);
  }
  const out: ListBarsQuery = { page: 1, limit: 100, sort: 'asc' };

  const symbol = query.symbol;
  if (symbol !== undefined) {
    const s = parseSymbol(symbol);
    if (s !== undefined) out.symbol = s;
    else fail('symbol', MESSAGES.symbol);
  }
  if (query.symbols !== undefined) {
    const symbols = parseSymbolList(query.symbols);
    if (symbols === undefined) fail('symbols', MESSAGES.symbols);
    else if (symbol !== undefined) fail('symbols', MESSAGES.exclusive);
    else out.symbols = symbols;
  }
  Object.assign(out, parseDateRange(query, errors));
  if (query.page !== undefined) {
    const page = wholeNumber(query.page);
    if (page === undefined || page < 1) fail('page', MESSAGES.page);
    else if (page > MAX_PAGE) fail('page', MESSAGES.pageMax);
    else out.page = page;
  }
  if (query.limit !== undefined) {
    const limit = wholeNumber(query.limit);
    if (limit === undefined || limit < 1 || limit > 1000) fail('limit', MESSAGES.limit);
    else out.limit = limit;
  }
  if (query.sort !== undefined) {
    if (query.sort === 'asc' || query.sort === 'desc') out.sort = query.sort;
    else fail('sort', MESSAGES.sort);
  }
  if (query.cursor !== undefined) {
    // Its content is checked against the filter by the service (400 INVALID_CURSOR).
    if (typeof query.cursor === 'string') out.cursor = query.cursor;
    else fail('cursor', MESSAGES.cursor);
  }
  if (errors.length) throw invalidParameters(errors);
  return out;
}
