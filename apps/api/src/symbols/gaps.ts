/** A run of missing weekdays between two stored bars: its first and last missing date. */
export interface Gap {
  start: string;
  end: string;
  businessDays: number;
}

const DAY_MS = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const utc = (day: string): number => Date.parse(`${day}T00:00:00Z`);
const isWeekday = (ms: number): boolean => {
  const d = new Date(ms).getUTCDay();
  return d !== 0 && d !== 6;
};

/**
 * Runs of at least `minBusinessDays` Mon–Fri dates with no bar, between consecutive stored dates
 * (`dates`: ascending, distinct, YYYY-MM-DD). Weekends inside a run do not end it; holidays are
 * not known, so a long weekend shows as a 1-day run (hence the default minimum of 3). Linear in
 * the calendar span.
 */
export function findGaps(dates: readonly string[], minBusinessDays: number): Gap[] {
  const gaps: Gap[] = [];
  for (let i = 1; i < dates.length; i++) {
    const from = utc(dates[i - 1]);
    const to = utc(dates[i]);
    let first = 0;
    let last = 0;
    let count = 0;
    for (let ms = from + DAY_MS; ms < to; ms += DAY_MS) {
      if (!isWeekday(ms)) continue;
      if (count === 0) first = ms;
      last = ms;
      count++;
    }
    if (count >= minBusinessDays && count > 0)
      gaps.push({ start: iso(first), end: iso(last), businessDays: count });
  }
  return gaps;
}
