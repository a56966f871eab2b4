/*
 * The explorer's pure helpers: no DOM, so jest tests them directly (format.spec.ts). The page's
 * wiring is exercised in a real browser (test/browser).
 */

export const INTERVALS = ['day', 'week', 'month', 'quarter', 'year'] as const;
export type Interval = (typeof INTERVALS)[number];

/** One candle of the chart, daily or aggregated. */
export interface Candle {
  time: number;
  /** The last day the candle covers (its own day for daily bars). */
  end: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface ViewFilter {
  symbol: string;
  start?: string;
  end?: string;
}

/** `?a=1&b=2` of the defined, non-empty values (or '' when there are none). */
export function queryString(params: Record<string, string | number | boolean | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === '' || value === false) continue;
    search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** The API's filter parameters for a view. */
export function filterParams(view: ViewFilter): Record<string, string | undefined> {
  return { symbol: view.symbol, start_date: view.start, end_date: view.end };
}

export function exportUrl(view: ViewFilter, format: 'csv' | 'ndjson'): string {
  return `/api/v1/data/export${queryString({ ...filterParams(view), format })}`;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const price = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 8,
});

export const formatInteger = (n: number): string => integer.format(n);
export const formatPrice = (n: number): string => price.format(n);

/** 1536 → "1.5 KB"; decimal units, as file managers show sizes. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Seconds → "42 s", "3 min 5 s", "1 h 2 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export interface ProgressSample {
  /** ms since some fixed origin */
  at: number;
  bytesRead: number;
  rows: number;
}

export interface Rate {
  rowsPerSecond: number;
  /** Seconds left, when the total is known and the upload is moving. */
  etaSeconds?: number;
  /** 0-100, when the total is known. */
  percent?: number;
}

/**
 * Rows/s between the first and last sample, and the time left from the byte rate (rows in the
 * file are unknown until the end; its size is known).
 */
export function uploadRate(
  first: ProgressSample,
  last: ProgressSample,
  bytesTotal: number | null,
): Rate {
  const seconds = (last.at - first.at) / 1000;
  const rate: Rate = {
    rowsPerSecond: seconds > 0 ? Math.max(0, (last.rows - first.rows) / seconds) : 0,
  };
  if (bytesTotal && bytesTotal > 0) {
    rate.percent = Math.min(100, (100 * last.bytesRead) / bytesTotal);
    const bytesPerSecond = seconds > 0 ? (last.bytesRead - first.bytesRead) / seconds : 0;
    if (bytesPerSecond > 0) rate.etaSeconds = (bytesTotal - last.bytesRead) / bytesPerSecond;
  }
  return rate;
}

/** What the API says when it refuses: RFC 9457 problem+json, or whatever came back instead. */
export interface Problem {
  status: number;
  title?: string;
  detail?: string;
  code?: string;
}

/** One sentence for a person, naming what to do for the statuses a user can act on. */
export function problemMessage(problem: Problem): string {
  const said = problem.detail || problem.title || `HTTP ${problem.status}`;
  switch (problem.status) {
    case 401:
      return `${said} Enter an API key above (it is kept for this tab only).`;
    case 403:
      return `${said} This key's role does not allow it.`;
    case 429:
      return `${said} Too many requests: wait a moment and try again.`;
    case 503:
      return `${said} The service is unavailable right now.`;
    default:
      return said;
  }
}

/** A problem from a response body, tolerating bodies that are not problem+json. */
export function toProblem(status: number, body: unknown): Problem {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    return {
      status,
      title: typeof b.title === 'string' ? b.title : undefined,
      detail: typeof b.detail === 'string' ? b.detail : undefined,
      code: typeof b.code === 'string' ? b.code : undefined,
    };
  }
  return { status, detail: typeof body === 'string' && body ? body.slice(0, 200) : undefined };
}

/** 'YYYY-MM-DD' → seconds since the epoch at UTC midnight (the chart's time scale). */
export function dayToTime(day: string): number {
  return Date.UTC(+day.slice(0, 4), +day.slice(5, 7) - 1, +day.slice(8, 10)) / 1000;
}

/**
 * The export's CSV (a header line naming the columns, then one bar a line) as daily candles. The
 * chart reads CSV rather than NDJSON: half the bytes to write, compress and parse (no field names
 * repeated on every line). Columns are found by name; the rule set's symbols never need quoting
 * (the exporter quotes no field of theirs), so splitting on commas reads every line.
 */
export function csvCandles(text: string): Candle[] {
  const lines = text.split('\n');
  const header = lines[0].split(',');
  const [date, open, high, low, close, volume] = [
    'date',
    'open',
    'high',
    'low',
    'close',
    'volume',
  ].map((name) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`The export has no "${name}" column.`);
    return i;
  });
  const candles: Candle[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i]) continue;
    const f = lines[i].split(',');
    candles.push({
      time: dayToTime(f[date]),
      end: f[date],
      open: +f[open],
      high: +f[high],
      low: +f[low],
      close: +f[close],
      volume: +f[volume],
    });
  }
  return candles;
}

/** The inverse of dayToTime. */
export function timeToDay(time: number): string {
  return new Date(time * 1000).toISOString().slice(0, 10);
}

/**
 * The index of the candle a gap starting on `day` belongs to: the last candle at or before it in
 * ascending `times` (seconds), i.e. the daily bar just before the gap, or the week/month/... that
 * contains its first missing day. -1 when the gap starts before the first candle.
 */
export function candleAtOrBefore(times: readonly number[], day: string): number {
  const t = dayToTime(day);
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** The legend's text for a candle. */
export function describeCandle(c: Candle, interval: Interval): string {
  const day = timeToDay(c.time);
  const period = interval === 'day' || day === c.end ? day : `${day} – ${c.end}`;
  return `${period}  O ${formatPrice(c.open)}  H ${formatPrice(c.high)}  L ${formatPrice(c.low)}  C ${formatPrice(c.close)}  V ${formatInteger(c.volume)}`;
}
