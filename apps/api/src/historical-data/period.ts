/** Calendar periods of GET /api/v1/data/aggregate, on YYYY-MM-DD strings in UTC. */
export const INTERVALS = ['week', 'month', 'quarter', 'year'] as const;
export type Interval = (typeof INTERVALS)[number];

const DAY_MS = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const utc = (day: string): number => Date.parse(`${day}T00:00:00Z`);

/** The first day of the period holding `day`; weeks start on Monday. */
export function periodStart(interval: Interval, day: string): string {
  const y = day.slice(0, 4);
  const m = +day.slice(5, 7);
  switch (interval) {
    case 'year':
      return `${y}-01-01`;
    case 'quarter':
      return `${y}-${String(Math.floor((m - 1) / 3) * 3 + 1).padStart(2, '0')}-01`;
    case 'month':
      return `${day.slice(0, 7)}-01`;
    case 'week': {
      const ms = utc(day);
      const sinceMonday = (new Date(ms).getUTCDay() + 6) % 7;
      return iso(ms - sinceMonday * DAY_MS);
    }
  }
}

/** The last day of the period that starts on `start` (a periodStart value). */
export function periodEnd(interval: Interval, start: string): string {
  if (interval === 'week') return iso(utc(start) + 6 * DAY_MS);
  const year = +start.slice(0, 4);
  const month = +start.slice(5, 7) - 1;
  const months = interval === 'month' ? 1 : interval === 'quarter' ? 3 : 12;
  // Day 0 of the month after the period is the period's last day.
  return iso(Date.UTC(year, month + months, 0));
}
