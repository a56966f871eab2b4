import { plainDecimalPlaces, type BarRecord } from '@app/database';
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
 * Checks one raw bar, writing the normalised bar into `out` (which the caller may reuse from row
 * to row): answers the errors, or undefined when `out` holds a valid bar.
 */
export type BarChecker = (raw: RawBar, out: ValidBar) => BarFieldError[] | undefined;

/** A bar to fill (createBarChecker's `out`). */
export function emptyBar(): ValidBar {
  return { symbol: '', date: '', open: 0, high: 0, low: 0, close: 0, adjClose: null, volume: 0 };
}

/**
 * Builds the validator for one request or file: the options and the date bound are fixed once,
 * then each call is a handful of regex tests and comparisons. This is the only implementation of
 * the bar rules; JSON, CSV and CLI call it.
 */
export function createBarValidator(options: BarRuleOptions = {}): BarValidator {
  const check = createBarChecker(options);
  return (raw: RawBar): BarResult => {
    const bar = emptyBar();
    const errors = check(raw, bar);
    return errors ? { ok: false, errors } : { ok: true, bar };
  };
}

/** readPrice's answers that are not a price (prices are > 0, so these cannot be one). */
const BLANK = -1;
const NOT_A_NUMBER = -2;
const TOO_LARGE = -3;
const NOT_POSITIVE = -4;

/** A price as DECIMAL(20,8) holds it, or one of the sentinels above. */
function readPrice(value: unknown, decimal: DecimalSeparator): number {
  // Plain text reads the same whatever the separator but `,` (where `1.469` is 1469).
  if (typeof value === 'string' && decimal !== ',') {
    const places = plainDecimalPlaces(value);
    if (places !== -1 && places <= PRICE_SCALE) {
      const n = +value;
      return n >= 1e12 ? TOO_LARGE : n > 0 ? n : NOT_POSITIVE;
    }
  }
  if (isBlank(value)) return BLANK;
  const n = parseDecimal(value, decimal);
  if (n === undefined) return NOT_A_NUMBER;
  // DECIMAL(20,8) holds 12 integer digits.
  if (n >= 1e12) return TOO_LARGE;
  // Round as DECIMAL(20,8) would, so both dialects store and serve the same value. Text with
  // at most 8 decimals already is that value (Number(n.toFixed(8)) === n): the common case.
  const rounded =
    typeof value === 'string' && decimal === '.' && fewDecimals(value)
      ? n
      : Number(n.toFixed(PRICE_SCALE));
  return rounded > 0 ? rounded : NOT_POSITIVE;
}

/** `YYYY-MM-DD` exactly, a real calendar day: the text itself (already canonical), else undefined. */
function isoDateText(text: string): string | undefined {
  if (text.length !== 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45)
    return undefined;
  let year = 0;
  for (let i = 0; i < 4; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    year = year * 10 + d;
  }
  const m1 = text.charCodeAt(5) - 48;
  const m2 = text.charCodeAt(6) - 48;
  const d1 = text.charCodeAt(8) - 48;
  const d2 = text.charCodeAt(9) - 48;
  if (m1 < 0 || m1 > 9 || m2 < 0 || m2 > 9 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9)
    return undefined;
  const month = m1 * 10 + m2;
  const day = d1 * 10 + d2;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return text;
}

function addError(
  errors: BarFieldError[] | undefined,
  field: BarField,
  code: RowErrorCode,
  message: string,
): BarFieldError[] {
  (errors ??= []).push({ field, code, message });
  return errors;
}

const PRICE_FIELDS = ['open', 'high', 'low', 'close'] as const;

/**
 * The checker behind createBarValidator, for callers that reuse one output bar (a million-row
 * file): nothing is allocated for a valid bar. A file repeats its symbols row after row, so the
 * last symbol that passed is remembered and not checked again.
 */
export function createBarChecker(options: BarRuleOptions = {}): BarChecker {
  const dateFormat = options.dateFormat ?? 'MM/DD/YYYY';
  const decimal = options.decimal ?? '.';
  const maxDate = maxBarDate(options.now);
  let lastRawSymbol: string | undefined;
  let lastSymbol = '';

  return (raw: RawBar, out: ValidBar): BarFieldError[] | undefined => {
    let errors: BarFieldError[] | undefined;

    // symbol
    const rawSymbol = raw.symbol;
    if (typeof rawSymbol === 'string' && rawSymbol === lastRawSymbol) out.symbol = lastSymbol;
    else if (isBlank(rawSymbol))
      errors = addError(errors, 'symbol', 'MISSING_FIELD', 'symbol is required');
    else if (typeof rawSymbol !== 'string')
      errors = addError(errors, 'symbol', 'INVALID_SYMBOL', 'symbol must be a string');
    else {
      const symbol = rawSymbol.trim().toUpperCase();
      if (!SYMBOL_PATTERN.test(symbol)) {
        errors = addError(
          errors,
          'symbol',
          'INVALID_SYMBOL',
          'symbol must be 1-32 characters of A-Z 0-9 . - ^ = _ / :',
        );
      } else {
        lastRawSymbol = rawSymbol;
        lastSymbol = symbol;
        out.symbol = symbol;
      }
    }

    // date
    const rawDate = raw.date;
    const fast = typeof rawDate === 'string' ? isoDateText(rawDate) : undefined;
    if (fast !== undefined) {
      if (fast < MIN_DATE || fast > maxDate)
        errors = addError(
          errors,
          'date',
          'DATE_OUT_OF_RANGE',
          `date must be between ${MIN_DATE} and ${maxDate}`,
        );
      else out.date = fast;
    } else if (isBlank(rawDate))
      errors = addError(errors, 'date', 'MISSING_FIELD', 'date is required');
    else {
      const parsed = parseBarDate(rawDate, dateFormat);
      if (!parsed.ok) errors = addError(errors, 'date', 'INVALID_DATE', `date ${parsed.reason}`);
      else if (parsed.date < MIN_DATE || parsed.date > maxDate)
        errors = addError(
          errors,
          'date',
          'DATE_OUT_OF_RANGE',
          `date must be between ${MIN_DATE} and ${maxDate}`,
        );
      else out.date = parsed.date;
    }

    // prices
    let pricesOk = true;
    for (const field of PRICE_FIELDS) {
      const n = readPrice(raw[field], decimal);
      if (n > 0) out[field] = n;
      else {
        pricesOk = false;
        errors = priceError(errors, field, n);
      }
    }
    const adj = readPrice(raw.adjClose, decimal);
    if (adj > 0) out.adjClose = adj;
    else if (adj === BLANK) out.adjClose = null;
    else errors = priceError(errors, 'adjClose', adj);

    // volume
    const rawVolume = raw.volume;
    const plainVolume =
      typeof rawVolume === 'string' && plainDecimalPlaces(rawVolume) === 0 ? +rawVolume : -1;
    if (plainVolume >= 0) out.volume = plainVolume;
    else if (isBlank(rawVolume))
      errors = addError(errors, 'volume', 'MISSING_FIELD', 'volume is required');
    else {
      const n = parseDecimal(rawVolume, decimal);
      if (n === undefined)
        errors = addError(errors, 'volume', 'INVALID_NUMBER', 'volume must be a number');
      else if (!Number.isInteger(n) || n < 0 || n > Number.MAX_SAFE_INTEGER)
        errors = addError(errors, 'volume', 'INVALID_VOLUME', 'volume must be a whole number >= 0');
      else out.volume = n;
    }

    if (pricesOk) {
      const { open, high, low, close } = out;
      if (high < low)
        errors = addError(errors, 'high', 'HIGH_BELOW_LOW', `high ${high} is below low ${low}`);
      else {
        if (open > high || open < low)
          errors = addError(
            errors,
            'open',
            'OPEN_OUT_OF_RANGE',
            `open ${open} is outside [low ${low}, high ${high}]`,
          );
        if (close > high || close < low)
          errors = addError(
            errors,
            'close',
            'CLOSE_OUT_OF_RANGE',
            `close ${close} is outside [low ${low}, high ${high}]`,
          );
      }
    }
    return errors;
  };
}

/** The error for a price readPrice refused (a blank adjClose is no error: it is optional). */
function priceError(
  errors: BarFieldError[] | undefined,
  field: BarField,
  sentinel: number,
): BarFieldError[] {
  switch (sentinel) {
    case BLANK:
      return addError(errors, field, 'MISSING_FIELD', `${field} is required`);
    case NOT_A_NUMBER:
      return addError(errors, field, 'INVALID_NUMBER', `${field} must be a number`);
    case TOO_LARGE:
      return addError(errors, field, 'INVALID_NUMBER', `${field} must be below 1e12`);
    default:
      return addError(errors, field, 'NON_POSITIVE_PRICE', `${field} must be greater than 0`);
  }
}
