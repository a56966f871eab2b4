import fc from 'fast-check';
import { INTERVALS, periodEnd, periodStart } from './period';

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const next = (d: string) => day(Date.parse(`${d}T00:00:00Z`) + DAY);
const anyDay = fc
  .integer({ min: Date.UTC(1900, 0, 1) / DAY, max: Date.UTC(2100, 11, 31) / DAY })
  .map((n) => day(n * DAY));

describe('calendar periods (aggregate buckets)', () => {
  it('weeks start on Monday, also across years (ISO-week edges)', () => {
    // 2021-01-01 is a Friday in ISO week 2020-W53; 2024-12-30 is Monday of 2025-W01.
    expect(periodStart('week', '2021-01-01')).toBe('2020-12-28');
    expect(periodEnd('week', '2020-12-28')).toBe('2021-01-03');
    expect(periodStart('week', '2025-01-05')).toBe('2024-12-30');
    expect(periodStart('week', '2024-12-30')).toBe('2024-12-30');
    expect(periodStart('week', '2024-03-03')).toBe('2024-02-26'); // Sunday, leap February
  });

  it('months, quarters and years end on their last calendar day (leap years too)', () => {
    expect(periodEnd('month', '2024-02-01')).toBe('2024-02-29');
    expect(periodEnd('month', '2023-02-01')).toBe('2023-02-28');
    expect(periodEnd('month', '2024-01-01')).toBe('2024-01-31');
    expect(periodStart('quarter', '2024-06-30')).toBe('2024-04-01');
    expect(periodEnd('quarter', '2024-10-01')).toBe('2024-12-31');
    expect(periodEnd('year', '1900-01-01')).toBe('1900-12-31');
  });

  it('every day lies in exactly one period, and periods tile the calendar', () => {
    fc.assert(
      fc.property(anyDay, fc.constantFrom(...INTERVALS), (d, interval) => {
        const start = periodStart(interval, d);
        const end = periodEnd(interval, start);
        expect(start <= d && d <= end).toBe(true);
        // The day after the end starts the next period; the start is its own period's start.
        expect(periodStart(interval, next(end))).toBe(next(end));
        expect(periodStart(interval, start)).toBe(start);
        expect(periodStart(interval, end)).toBe(start);
        if (interval === 'week') {
          expect(new Date(`${start}T00:00:00Z`).getUTCDay()).toBe(1);
          expect((Date.parse(end) - Date.parse(start)) / DAY).toBe(6);
        } else {
          expect(start.slice(8)).toBe('01');
          const month = +start.slice(5, 7);
          if (interval === 'quarter') expect([1, 4, 7, 10]).toContain(month);
          if (interval === 'year') expect(month).toBe(1);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
