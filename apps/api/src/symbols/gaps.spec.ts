import fc from 'fast-check';
import { findGaps, Gap } from './gaps';

const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Brute force: walk every calendar day from first to last bar, collecting runs of missing weekdays. */
function reference(dates: string[], min: number): Gap[] {
  const stored = new Set(dates);
  const gaps: Gap[] = [];
  let run: string[] = [];
  const close = () => {
    if (run.length >= min && run.length > 0)
      gaps.push({ start: run[0], end: run[run.length - 1], businessDays: run.length });
    run = [];
  };
  for (let ms = Date.parse(dates[0]); ms <= Date.parse(dates[dates.length - 1]); ms += DAY) {
    const d = day(ms);
    const weekday = ![0, 6].includes(new Date(ms).getUTCDay());
    if (stored.has(d)) close();
    else if (weekday) run.push(d);
  }
  close();
  return gaps;
}

describe('findGaps', () => {
  it('reports runs of missing weekdays; weekends do not split a run; bars bound it', () => {
    // Stored: Mon 2024-03-04, then nothing until Wed 2024-03-20.
    expect(findGaps(['2024-03-04', '2024-03-20'], 3)).toEqual([
      { start: '2024-03-05', end: '2024-03-19', businessDays: 11 },
    ]);
    // A Friday and the next Monday: the weekend is not a gap.
    expect(findGaps(['2024-03-08', '2024-03-11'], 1)).toEqual([]);
    // Missing Thu+Fri+Mon: one run of 3 across the weekend.
    expect(findGaps(['2024-03-06', '2024-03-12'], 3)).toEqual([
      { start: '2024-03-07', end: '2024-03-11', businessDays: 3 },
    ]);
    expect(findGaps(['2024-03-06', '2024-03-12'], 4)).toEqual([]);
    expect(findGaps([], 3)).toEqual([]);
    expect(findGaps(['2024-03-06'], 1)).toEqual([]);
  });

  it('matches a day-by-day walk of the calendar on random histories (weekend bars included)', () => {
    const history = fc
      .uniqueArray(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 120 })
      .map((offsets) =>
        offsets.sort((a, b) => a - b).map((o) => day(Date.UTC(2023, 11, 20) + o * DAY)),
      );
    fc.assert(
      fc.property(history, fc.integer({ min: 1, max: 12 }), (dates, min) => {
        expect(findGaps(dates, min)).toEqual(reference(dates, min));
      }),
      { numRuns: 500 },
    );
  });
});
