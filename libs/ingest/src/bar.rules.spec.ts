import fc from 'fast-check';
import { ROW_ERROR_CODES } from './bar-rule.codes';
import { createBarValidator, maxBarDate, parseBarDate, parseDecimal, RawBar } from './bar.rules';

const NOW = new Date('2024-06-15T12:00:00Z');
const validate = createBarValidator({ now: NOW });

const good: RawBar = {
  symbol: 'AAPL',
  date: '2024-01-02',
  open: 10,
  high: 12,
  low: 9,
  close: 11,
  volume: 100,
};
const codesOf = (raw: RawBar, v = validate): string[] => {
  const r = v(raw);
  return r.ok ? [] : r.errors.map((e) => `${e.field}:${e.code}`);
};

describe('bar rule set', () => {
  it('accepts a plain bar and normalises it', () => {
    expect(validate({ ...good, symbol: '  brk.b ' })).toEqual({
      ok: true,
      bar: { ...good, symbol: 'BRK.B', adjClose: null },
    });
  });

  it.each([
    ['BRK.B'],
    ['^GSPC'],
    ['BTC-USD'],
    ['ES=F'],
    ['EUR/USD'],
    ['XETRA:SAP'],
    ['A_B'],
    ['X'.repeat(32)],
  ])('accepts the symbol %s', (symbol) => {
    expect(validate({ ...good, symbol }).ok).toBe(true);
  });

  it.each([['X'.repeat(33)], ['AA PL'], ['ÄPPLE'], ['AAPL;'], ['$AAPL']])(
    'rejects the symbol %j with INVALID_SYMBOL',
    (symbol) => {
      expect(codesOf({ ...good, symbol })).toEqual(['symbol:INVALID_SYMBOL']);
    },
  );

  it.each([
    ['2024-01-02', '2024-01-02'],
    ['2024/1/2', '2024-01-02'],
    ['20240102', '2024-01-02'],
    ['01/02/2024', '2024-01-02'],
    ['1/2/2024', '2024-01-02'],
    ['02.01.2024', '2024-01-02'],
    ['2024-01-02T00:00:00Z', '2024-01-02'],
    ['2024-01-02T00:00:00.000Z', '2024-01-02'],
    ['2024-01-02 00:00:00', '2024-01-02'],
    ['2024-01-02T00:00:00-05:00', '2024-01-02'],
    ['2024-02-29', '2024-02-29'],
    ['2000-02-29', '2000-02-29'],
  ])('reads the date %s as %s', (input, expected) => {
    expect(parseBarDate(input)).toEqual({ ok: true, date: expected });
  });

  it('reads slash dates day-first with dateFormat=DD/MM/YYYY', () => {
    expect(parseBarDate('02/01/2024', 'DD/MM/YYYY')).toEqual({ ok: true, date: '2024-01-02' });
    const dayFirst = createBarValidator({ now: NOW, dateFormat: 'DD/MM/YYYY' });
    expect(codesOf({ ...good, date: '13/01/2024' }, dayFirst)).toEqual([]);
    expect(codesOf({ ...good, date: '13/01/2024' })).toEqual(['date:INVALID_DATE']);
  });

  it.each([
    ['2023-02-29'],
    ['1900-02-29'],
    ['2024-04-31'],
    ['2024-13-01'],
    ['2024-00-10'],
    ['2024-1-2'],
    ['yesterday'],
    ['2024-01-02T15:30:00Z'],
    ['2024-01-02T00:00:01'],
  ])('rejects the date %s with INVALID_DATE', (date) => {
    expect(codesOf({ ...good, date })).toEqual(['date:INVALID_DATE']);
  });

  it('bounds dates to 1900-01-01 .. tomorrow (UTC)', () => {
    expect(maxBarDate(NOW)).toBe('2024-06-16');
    expect(codesOf({ ...good, date: '1900-01-01' })).toEqual([]);
    expect(codesOf({ ...good, date: '2024-06-16' })).toEqual([]);
    expect(codesOf({ ...good, date: '1899-12-31' })).toEqual(['date:DATE_OUT_OF_RANGE']);
    expect(codesOf({ ...good, date: '2024-06-17' })).toEqual(['date:DATE_OUT_OF_RANGE']);
  });

  it.each([
    ['"$1,234.50"', '$1,234.50', 1234.5],
    ['a plain string', '12.5', 12.5],
    ['exponent', '1.029145e+06', 1029145],
    ['leading dot', '.5', 0.5],
    ['padded', '  7 ', 7],
  ])('parses %s', (_name, text, value) => {
    expect(parseDecimal(text)).toBe(value);
  });

  it.each([['1,23'], ['12,34.5'], ['abc'], ['NaN'], ['Infinity'], ['0x10'], ['1.2.3'], ['']])(
    'refuses %j as a number',
    (text) => {
      expect(parseDecimal(text)).toBeUndefined();
    },
  );

  it.each([
    [{ open: undefined }, 'open:MISSING_FIELD'],
    [{ close: '' }, 'close:MISSING_FIELD'],
    [{ high: null }, 'high:MISSING_FIELD'],
    [{ volume: undefined }, 'volume:MISSING_FIELD'],
    [{ date: ' ' }, 'date:MISSING_FIELD'],
    [{ symbol: 42 }, 'symbol:INVALID_SYMBOL'],
    [{ open: 'ten' }, 'open:INVALID_NUMBER'],
    [{ high: 1e12 }, 'high:INVALID_NUMBER'],
    [{ low: 0 }, 'low:NON_POSITIVE_PRICE'],
    [{ low: -1 }, 'low:NON_POSITIVE_PRICE'],
    [{ low: 0.000000001 }, 'low:NON_POSITIVE_PRICE'],
    [{ volume: -5 }, 'volume:INVALID_VOLUME'],
    [{ volume: 1.5 }, 'volume:INVALID_VOLUME'],
    [{ volume: '1.5e0' }, 'volume:INVALID_VOLUME'],
    [{ volume: 2 ** 60 }, 'volume:INVALID_VOLUME'],
    [{ volume: 'lots' }, 'volume:INVALID_NUMBER'],
    [{ high: 8 }, 'high:HIGH_BELOW_LOW'],
    [{ open: 13 }, 'open:OPEN_OUT_OF_RANGE'],
    [{ close: 8.5 }, 'close:CLOSE_OUT_OF_RANGE'],
    [{ adjClose: 'x' }, 'adjClose:INVALID_NUMBER'],
    [{ adjClose: -1 }, 'adjClose:NON_POSITIVE_PRICE'],
  ])('%j → %s', (patch, code) => {
    expect(codesOf({ ...good, ...patch })).toEqual([code]);
  });

  it('reports every failing field of a row', () => {
    expect(codesOf({ symbol: '', date: 'x', open: 1, high: 2, low: 1, close: 'y' })).toEqual([
      'symbol:MISSING_FIELD',
      'date:INVALID_DATE',
      'close:INVALID_NUMBER',
      'volume:MISSING_FIELD',
    ]);
  });

  it('rounds prices to 8 decimals as DECIMAL(20,8) stores them', () => {
    const r = validate({ ...good, open: '10.123456789', adjClose: 10.000000004 });
    expect(r.ok && [r.bar.open, r.bar.adjClose]).toEqual([10.12345679, 10]);
  });

  it('validates 10 000 bars in well under 100 ms', () => {
    const bars = Array.from({ length: 10_000 }, (_, i) => ({
      ...good,
      symbol: `S${i % 100}`,
      open: String(10 + (i % 7)),
    }));
    // Not a timing assertion (those belong in `npm run bench`): a guard against pathological
    // regressions, with a limit 20x above what the function needs on this machine.
    const started = process.hrtime.bigint();
    for (const b of bars) validate(b);
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
  });
});

describe('bar rule set — properties', () => {
  const price = fc.double({ min: 0.01, max: 1e9, noNaN: true, noDefaultInfinity: true });
  const day = fc
    .date({
      min: new Date('1900-01-01T00:00:00Z'),
      max: new Date('2024-06-16T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString().slice(0, 10));
  const symbol = fc.stringMatching(/^[A-Za-z0-9.\-^=_/:]{1,32}$/);
  const anything = fc.oneof(
    fc.constant(undefined),
    fc.constant(null),
    fc.string(),
    fc.double(),
    fc.integer(),
    fc.boolean(),
  );

  it('every accepted bar satisfies the invariants', () => {
    fc.assert(
      fc.property(
        fc.record({
          symbol: fc.oneof(symbol, anything),
          date: fc.oneof(day, anything),
          open: fc.oneof(price, anything),
          high: fc.oneof(price, anything),
          low: fc.oneof(price, anything),
          close: fc.oneof(price, anything),
          adjClose: fc.oneof(price, anything),
          volume: fc.oneof(fc.nat(), anything),
        }),
        (raw) => {
          const r = validate(raw);
          if (!r.ok) return;
          const b = r.bar;
          expect(b.symbol).toMatch(/^[A-Z0-9.\-^=_/:]{1,32}$/);
          expect(b.date >= '1900-01-01' && b.date <= '2024-06-16').toBe(true);
          expect(b.low).toBeGreaterThan(0);
          expect(b.high).toBeGreaterThanOrEqual(Math.max(b.open, b.close, b.low));
          expect(b.low).toBeLessThanOrEqual(Math.min(b.open, b.close));
          expect(Number.isSafeInteger(b.volume) && b.volume >= 0).toBe(true);
          for (const p of [b.open, b.high, b.low, b.close, b.adjClose ?? 1]) {
            expect(Number(p.toFixed(8))).toBe(p);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a consistent bar is accepted, and breaking one rule names that rule', () => {
    fc.assert(
      fc.property(
        symbol,
        day,
        fc.array(price, { minLength: 4, maxLength: 4 }),
        fc.nat(),
        (s, d, ps, v) => {
          const [low, a, b, high] = ps.map((p) => Number(p.toFixed(8))).sort((x, y) => x - y);
          const base = { symbol: s, date: d, open: a, high, low, close: b, volume: v };
          expect(validate(base).ok).toBe(true);
          if (high > low) {
            expect(codesOf({ ...base, high: low / 2 })).toContain('high:HIGH_BELOW_LOW');
          }
          expect(codesOf({ ...base, open: high * 2 + 1 })).toEqual(['open:OPEN_OUT_OF_RANGE']);
          expect(codesOf({ ...base, close: -Math.abs(b) })).toEqual(['close:NON_POSITIVE_PRICE']);
          expect(codesOf({ ...base, volume: v + 0.5 })).toEqual(['volume:INVALID_VOLUME']);
          expect(codesOf({ ...base, date: `${d}x` })).toEqual(['date:INVALID_DATE']);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('every rejection names a known code and field', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('symbol', 'date', 'open', 'high', 'low', 'close', 'volume'),
          anything,
        ),
        (raw) => {
          const r = validate(raw);
          if (r.ok) return;
          expect(r.errors.length).toBeGreaterThan(0);
          for (const e of r.errors) expect(ROW_ERROR_CODES).toContain(e.code);
        },
      ),
    );
  });

  it('every written date spelling of the same day parses to that day', () => {
    fc.assert(
      fc.property(day, (d) => {
        const [y, m, dd] = d.split('-');
        for (const text of [
          d,
          `${y}/${m}/${dd}`,
          `${y}${m}${dd}`,
          `${m}/${dd}/${y}`,
          `${dd}.${m}.${y}`,
          `${d}T00:00:00Z`,
        ]) {
          expect(parseBarDate(text)).toEqual({ ok: true, date: d });
        }
        expect(parseBarDate(`${dd}/${m}/${y}`, 'DD/MM/YYYY')).toEqual({ ok: true, date: d });
      }),
    );
  });
});

describe('decimal separators and slash-date hints', () => {
  /** 1234567.25 → "1.234.567,25" (grouped) or "1234567,25". */
  const european = (cents: number, grouped: boolean): string => {
    const whole = Math.floor(cents / 100).toString();
    const frac = (cents % 100).toString().padStart(2, '0');
    const int = grouped ? whole.replace(/\B(?=(\d{3})+(?!\d))/g, '.') : whole;
    return `${int},${frac}`;
  };

  it('reads decimal commas with "," and "auto", grouped by dots or not (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99_999_999_999 }), fc.boolean(), (cents, grouped) => {
        const text = european(cents, grouped);
        expect(parseDecimal(text, ',')).toBeCloseTo(cents / 100, 8);
        expect(parseDecimal(text, 'auto')).toBeCloseTo(cents / 100, 8);
      }),
    );
  });

  it('"auto" still reads dot decimals and comma grouping; "." refuses a decimal comma', () => {
    expect(parseDecimal('1,469.25', 'auto')).toBe(1469.25);
    expect(parseDecimal('1469.25', 'auto')).toBe(1469.25);
    expect(parseDecimal('4.460', ',')).toBe(4460);
    expect(parseDecimal('1469,25', '.')).toBeUndefined();
    expect(parseDecimal('1,2,3', ',')).toBeUndefined();
  });

  it('a slash date only the other order reads names the dateFormat that would', () => {
    const monthFirst = parseBarDate('13/01/2024');
    expect(monthFirst).toEqual({
      ok: false,
      reason: expect.stringContaining('2024-01-13 with dateFormat=DD/MM/YYYY'),
    });
    const dayFirst = parseBarDate('01/13/2024', 'DD/MM/YYYY');
    expect(dayFirst).toEqual({
      ok: false,
      reason: expect.stringContaining('2024-01-13 with dateFormat=MM/DD/YYYY'),
    });
    expect(parseBarDate('13/13/2024')).toEqual({
      ok: false,
      reason: 'is not a real calendar date',
    });
  });
});
