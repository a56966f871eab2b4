import type { BarRecord } from '@app/database';
import type { RowErrorCode } from './bar-rule.codes';

/** A bar as it arrives from JSON, a CSV record or the CLI: any field may be missing or malformed. */
export interface RawBar {
  symbol?: unknown;
  date?: unknown;
  open?: unknown;
  high?: unknown;
  low?: unknown;
  close?: unknown;
  adjClose?: unknown;
  volume?: unknown;
}

/** A bar that passed every rule: normalised symbol, ISO date, prices rounded to DECIMAL(20,8). */
export type ValidBar = BarRecord;

export type BarField = keyof ValidBar;

/** Every field of a bar, in column order. */
export const BAR_FIELDS: readonly BarField[] = [
  'symbol',
  'date',
  'open',
  'high',
  'low',
  'close',
  'adjClose',
  'volume',
];

export interface BarFieldError {
  field: BarField;
  code: RowErrorCode;
  message: string;
}

export type BarResult = { ok: true; bar: ValidBar } | { ok: false; errors: BarFieldError[] };

export type DateFormat = 'MM/DD/YYYY' | 'DD/MM/YYYY';

/**
 * The decimal separator of CSV numbers: `.` (1,469.25), `,` (1.469,25 or 1469,25), or `auto`,
 * which reads a lone comma as the decimal separator and, with both, the last one (semicolon
 * files, which are mostly European, default to it).
 */
export type DecimalSeparator = '.' | ',' | 'auto';
export const DECIMAL_SEPARATORS: readonly DecimalSeparator[] = ['.', ',', 'auto'];

export interface BarRuleOptions {
  /** How to read `a/b/yyyy` dates; MM/DD/YYYY unless the client says otherwise. */
  dateFormat?: DateFormat;
  /** How to read numbers in text; `.` unless the client (or a semicolon file) says otherwise. */
  decimal?: DecimalSeparator;
  /** "Now", for the upper date bound (tomorrow, UTC). Injected by tests. */
  now?: Date;
}

export const MIN_DATE = '1900-01-01';
export const SYMBOL_PATTERN = /^[A-Z0-9.\-^=_/:]{1,32}$/;
export const PRICE_SCALE = 8;

const NUMBER_PATTERN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const GROUPED_PATTERN = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$/;

function isBlank(value: unknown): boolean {
  return (
    value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
  );
}

const COMMA_NUMBER_PATTERN = /^[+-]?(?:\d+,?\d*|,\d+)(?:[eE][+-]?\d+)?$/;
const DOT_GROUPED_PATTERN = /^[+-]?\d{1,3}(?:\.\d{3})+(?:,\d*)?$/;

/** `,` or `.`: which one `auto` reads as the decimal separator in this text. */
function autoSeparator(text: string): '.' | ',' {
  const comma = text.lastIndexOf(',');
  if (comma === -1) return '.';
  const dot = text.lastIndexOf('.');
  if (dot === -1) return text.indexOf(',') === comma ? ',' : '.';
  return comma > dot ? ',' : '.';
}

/**
 * Reads a number from JSON or CSV text: `$` prefix allowed; with the `.` separator 1,234.56
 * grouping, with `,` 1.234,56 grouping (or none: 1234,56); nothing else.
 */
export function parseDecimal(value: unknown, decimal: DecimalSeparator = '.'): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  let text = value.trim();
  if (text.charCodeAt(0) === 36 /* $ */) text = text.slice(1).trim();
  const separator = decimal === 'auto' ? autoSeparator(text) : decimal;
  if (separator === ',') {
    if (DOT_GROUPED_PATTERN.test(text)) text = text.replace(/\./g, '');
    else if (!COMMA_NUMBER_PATTERN.test(text)) return undefined;
    text = text.replace(',', '.');
  } else if (text.includes(',')) {
    if (!GROUPED_PATTERN.test(text)) return undefined;
    text = text.replace(/,/g, '');
  }
  if (!NUMBER_PATTERN.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** Plain decimal text, no exponent, at most PRICE_SCALE digits after the point. */
function fewDecimals(text: string): boolean {
  if (text.includes('e') || text.includes('E')) return false;
  const dot = text.indexOf('.');
  return dot === -1 || text.length - dot - 1 <= PRICE_SCALE;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function iso(year: number, month: number, day: number): string | undefined {
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return `${year}-${month < 10 ? '0' : ''}${month}-${day < 10 ? '0' : ''}${day}`;
}

const YMD_DASH = /^(\d{4})-(\d{2})-(\d{2})$/;
const YMD_SLASH = /^(\d{4})\/(\d{1,2})\/(\d{1,2})$/;
const YMD_COMPACT = /^(\d{4})(\d{2})(\d{2})$/;
const AB_SLASH = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const DMY_DOT = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/;
const ISO_DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

export type ParsedDate = { ok: true; date: string } | { ok: false; reason: string };

/** Parses every date spelling the rule set accepts into YYYY-MM-DD (no range check). */
export function parseBarDate(value: unknown, dateFormat: DateFormat = 'MM/DD/YYYY'): ParsedDate {
  const text =
    typeof value === 'string'
      ? value.trim()
      : typeof value === 'number' && Number.isInteger(value)
        ? String(value)
        : undefined;
  if (text === undefined) return { ok: false, reason: 'must be a date string' };
  let m: RegExpExecArray | null;
  let date: string | undefined;
  if ((m = YMD_DASH.exec(text)) || (m = YMD_SLASH.exec(text)) || (m = YMD_COMPACT.exec(text))) {
    date = iso(+m[1], +m[2], +m[3]);
  } else if ((m = AB_SLASH.exec(text))) {
    const dayFirst = dateFormat === 'DD/MM/YYYY';
    date = dayFirst ? iso(+m[3], +m[2], +m[1]) : iso(+m[3], +m[1], +m[2]);
    // A slash date the other order reads: the file is probably in that order; say so.
    const other = dayFirst ? iso(+m[3], +m[1], +m[2]) : iso(+m[3], +m[2], +m[1]);
    if (!date && other) {
      return {
        ok: false,
        reason: `is not a real calendar date as ${dateFormat}; it reads as ${other} with dateFormat=${dayFirst ? 'MM/DD/YYYY' : 'DD/MM/YYYY'}`,
      };
    }
  } else if ((m = DMY_DOT.exec(text))) {
    date = iso(+m[3], +m[2], +m[1]);
  } else if ((m = ISO_DATETIME.exec(text))) {
    const midnight = +m[4] === 0 && +m[5] === 0 && +(m[6] ?? 0) === 0 && +(m[7] ?? 0) === 0;
    if (!midnight) return { ok: false, reason: 'a datetime must be at midnight (daily bars)' };
    date = iso(+m[1], +m[2], +m[3]);
  } else {
    return {
      ok: false,
      reason:
        'expected YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD, MM/DD/YYYY, DD.MM.YYYY or a midnight ISO datetime',
    };
  }
  return date ? { ok: true, date } : { ok: false, reason: 'is not a real calendar date' };
}

/** Tomorrow in UTC as YYYY-MM-DD: the latest date a daily bar may carry (time zones run ahead). */
export function maxBarDate(now: Date = new Date()): string {
  const t = new Date(now.getTime() + 86_400_000);
  return t.toISOString().slice(0, 10);
}

export type BarValidator = (raw: RawBar) => BarResult;

/**
 * Builds the validator for one request or file: the options and the date bound are fixed once,
 * then each call is a handful of regex tests and comparisons (no allocation on the happy path
 * beyond the result). This is the only implementation of the bar rules; JSON, CSV and CLI call it.
 */
export function createBarValidator(options: BarRuleOptions = {}): BarValidator {
  const dateFormat = options.dateFormat ?? 'MM/DD/YYYY';
  const decimal = options.decimal ?? '.';
  const maxDate = maxBarDate(options.now);

  return (raw: RawBar): BarResult => {
    let errors: BarFieldError[] | undefined;
    const fail = (field: BarField, code: RowErrorCode, message: string): undefined => {
      (errors ??= []).push({ field, code, message });
      return undefined;
    };

    // symbol
    let symbol: string | undefined;
    if (isBlank(raw.symbol)) fail('symbol', 'MISSING_FIELD', 'symbol is required');
    else if (typeof raw.symbol !== 'string')
      fail('symbol', 'INVALID_SYMBOL', 'symbol must be a string');
    else {
      symbol = raw.symbol.trim().toUpperCase();
      if (!SYMBOL_PATTERN.test(symbol)) {
        symbol = undefined;
        fail('symbol', 'INVALID_SYMBOL', 'symbol must be 1-32 characters of A-Z 0-9 . - ^ = _ / :');
      }
    }

    // date
    let date: string | undefined;
    if (isBlank(raw.date)) fail('date', 'MISSING_FIELD', 'date is required');
    else {
      const parsed = parseBarDate(raw.date, dateFormat);
      if (!parsed.ok) fail('date', 'INVALID_DATE', `date ${parsed.reason}`);
      else if (parsed.date < MIN_DATE || parsed.date > maxDate)
        fail('date', 'DATE_OUT_OF_RANGE', `date must be between ${MIN_DATE} and ${maxDate}`);
      else date = parsed.date;
    }

    const price = (field: BarField, value: unknown, required: boolean): number | undefined => {
      if (isBlank(value)) {
        return required ? fail(field, 'MISSING_FIELD', `${field} is required`) : undefined;
      }
      const n = parseDecimal(value, decimal);
      if (n === undefined) return fail(field, 'INVALID_NUMBER', `${field} must be a number`);
      // DECIMAL(20,8) holds 12 integer digits.
      if (n >= 1e12) return fail(field, 'INVALID_NUMBER', `${field} must be below 1e12`);
      // Round as DECIMAL(20,8) would, so both dialects store and serve the same value. Text with
      // at most 8 decimals already is that value (Number(n.toFixed(8)) === n): the common case.
      const rounded =
        typeof value === 'string' && decimal === '.' && fewDecimals(value)
          ? n
          : Number(n.toFixed(PRICE_SCALE));
      if (!(rounded > 0)) {
        return fail(field, 'NON_POSITIVE_PRICE', `${field} must be greater than 0`);
      }
      return rounded;
    };

    const open = price('open', raw.open, true);
    const high = price('high', raw.high, true);
    const low = price('low', raw.low, true);
    const close = price('close', raw.close, true);
    const adjClose = price('adjClose', raw.adjClose, false);

    // volume
    let volume: number | undefined;
    if (isBlank(raw.volume)) fail('volume', 'MISSING_FIELD', 'volume is required');
    else {
      const n = parseDecimal(raw.volume, decimal);
      if (n === undefined) fail('volume', 'INVALID_NUMBER', 'volume must be a number');
      else if (!Number.isInteger(n) || n < 0 || n > Number.MAX_SAFE_INTEGER)
        fail('volume', 'INVALID_VOLUME', 'volume must be a whole number >= 0');
      else volume = n;
    }

    if (open !== undefined && high !== undefined && low !== undefined && close !== undefined) {
      if (high < low) fail('high', 'HIGH_BELOW_LOW', `high ${high} is below low ${low}`);
      else {
        if (open > high || open < low)
          fail('open', 'OPEN_OUT_OF_RANGE', `open ${open} is outside [low ${low}, high ${high}]`);
        if (close > high || close < low)
          fail(
            'close',
            'CLOSE_OUT_OF_RANGE',
            `close ${close} is outside [low ${low}, high ${high}]`,
          );
      }
    }

    if (errors) return { ok: false, errors };
    return {
      ok: true,
      bar: {
        symbol: symbol!,
        date: date!,
        open: open!,
        high: high!,
        low: low!,
        close: close!,
        adjClose: adjClose ?? null,
        volume: volume!,
      },
    };
  };
}
