import { ValidatedBars } from './validated-bars';

const bar = (date: string, symbol = 'aapl') => ({
  symbol,
  date,
  open: 10,
  high: 12,
  low: 9,
  close: 11,
  volume: 100,
});

describe('ValidatedBars', () => {
  it('answers normalised bars that pass the rule set', () => {
    const result = new ValidatedBars({}).check(bar('2024-01-02'));
    expect(result).toEqual({
      ok: true,
      bar: { ...bar('2024-01-02', 'AAPL'), adjClose: null },
    });
  });

  it('rejects a repeated (symbol, date) on its later occurrence, naming the input', () => {
    const bars = new ValidatedBars({}, 'request');
    expect(bars.check(bar('2024-01-02')).ok).toBe(true);
    expect(bars.check(bar('2024-01-02', 'MSFT')).ok).toBe(true);
    expect(bars.check(bar('01/02/2024'))).toEqual({
      ok: false,
      errors: [
        {
          field: 'date',
          code: 'DUPLICATE_IN_FILE',
          message: 'AAPL 2024-01-02 appears earlier in this request',
        },
      ],
    });
  });

  it('reports rule errors without remembering the pair', () => {
    const bars = new ValidatedBars({ dateFormat: 'DD/MM/YYYY' });
    const bad = bars.check({ ...bar('02/01/2024'), high: 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.map((e) => e.code)).toContain('HIGH_BELOW_LOW');
    // The invalid row did not claim 2024-01-02: the valid one is accepted.
    const good = bars.check(bar('02/01/2024'));
    expect(good.ok && good.bar.date).toBe('2024-01-02');
  });
});
