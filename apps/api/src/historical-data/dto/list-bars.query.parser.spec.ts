import { ValidationError } from '@app/common';
import fc from 'fast-check';
import { isIsoDay, parseListBarsQuery } from './list-bars.query.parser';

const errorsOf = (query: Record<string, unknown>) => {
  try {
    parseListBarsQuery(query);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).options.errors ?? [];
  }
  return [];
};

describe('parseListBarsQuery', () => {
  it('applies the defaults and normalises the symbol', () => {
    expect(parseListBarsQuery({})).toEqual({ page: 1, limit: 100, sort: 'asc' });
    expect(
      parseListBarsQuery({
        symbol: ' brk.b ',
        start_date: '2024-01-01',
        end_date: '2024-02-29',
        page: '3',
        limit: '50',
        sort: 'desc',
      }),
    ).toEqual({
      symbol: 'BRK.B',
      start_date: '2024-01-01',
      end_date: '2024-02-29',
      page: 3,
      limit: 50,
      sort: 'desc',
    });
  });

  it('lists every bad parameter with the documented message, unknown ones first', () => {
    expect(
      errorsOf({
        vwap: '1',
        symbol: 'A B',
        start_date: '2023-02-29',
        end_date: 'soon',
        page: 'abc',
        limit: '1001',
        sort: 'up',
      }),
    ).toEqual([
      { field: 'vwap', message: 'vwap is not a known parameter' },
      { field: 'symbol', message: 'symbol must be 1-32 characters of A-Z 0-9 . - ^ = _ / :' },
      { field: 'start_date', message: 'start_date must be a real date written YYYY-MM-DD' },
      { field: 'end_date', message: 'end_date must be a real date written YYYY-MM-DD' },
      { field: 'page', message: 'page must be a whole number >= 1' },
      { field: 'limit', message: 'limit must be a whole number between 1 and 1000' },
      { field: 'sort', message: 'sort must be asc or desc' },
    ]);
    expect(errorsOf({ start_date: '2024-02-01', end_date: '2024-01-31' })).toEqual([
      { field: 'end_date', message: 'end_date must not be before start_date' },
    ]);
    expect(errorsOf({ page: '0' })[0].message).toBe('page must be a whole number >= 1');
    expect(errorsOf({ page: '10000001' })[0].message).toBe('page must be at most 10000000');
    expect(errorsOf({ limit: ['1', '2'] })[0].field).toBe('limit');
    expect(errorsOf({ symbol: '' })[0].field).toBe('symbol');
  });

  it('knows real calendar days', () => {
    expect(['2024-02-29', '2000-02-29', '1900-01-01', '2023-12-31'].every(isIsoDay)).toBe(true);
    expect(
      ['2023-02-29', '1900-02-29', '2024-04-31', '2024-13-01', '2024-1-01'].some(isIsoDay),
    ).toBe(false);
  });

  it('agrees with the calendar on every day, and never throws anything but a 400', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1000-01-01'), max: new Date('9999-12-31'), noInvalidDate: true }),
        (d) => {
          expect(isIsoDay(d.toISOString().slice(0, 10))).toBe(true);
        },
      ),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('symbol', 'start_date', 'end_date', 'page', 'limit', 'sort', 'other'),
          fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 2 })),
        ),
        (query) => {
          try {
            const parsed = parseListBarsQuery(query);
            expect(parsed.limit).toBeGreaterThanOrEqual(1);
            expect(parsed.limit).toBeLessThanOrEqual(1000);
            expect(parsed.page).toBeGreaterThanOrEqual(1);
          } catch (err) {
            expect(err).toBeInstanceOf(ValidationError);
          }
        },
      ),
    );
  });
});
