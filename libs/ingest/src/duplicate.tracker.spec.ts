import fc from 'fast-check';
import { DuplicateTracker } from './duplicate.tracker';

describe('DuplicateTracker', () => {
  it('accepts a pair once, per symbol', () => {
    const t = new DuplicateTracker();
    expect(t.add('AAPL', '2024-01-02')).toBe(true);
    expect(t.add('MSFT', '2024-01-02')).toBe(true);
    expect(t.add('AAPL', '2024-01-03')).toBe(true);
    expect(t.add('AAPL', '2024-01-02')).toBe(false);
  });

  it('agrees with a plain Set of "symbol|date" strings', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('A', 'B', 'C'),
            fc.date({
              min: new Date('1900-01-01'),
              max: new Date('2100-01-01'),
              noInvalidDate: true,
            }),
          ),
        ),
        (pairs) => {
          const t = new DuplicateTracker();
          const seen = new Set<string>();
          for (const [s, d] of pairs) {
            const day = d.toISOString().slice(0, 10);
            expect(t.add(s, day)).toBe(!seen.has(`${s}|${day}`));
            seen.add(`${s}|${day}`);
          }
        },
      ),
    );
  });
});
