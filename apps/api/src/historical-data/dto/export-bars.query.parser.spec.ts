import { ProblemFieldError, ValidationError } from '@app/common';
import { SYMBOL_MESSAGES } from './symbols.param';
import { parseExportBarsQuery } from './export-bars.query.parser';

function problems(query: Record<string, unknown>): ProblemFieldError[] {
  try {
    parseExportBarsQuery(query);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).options.errors ?? [];
  }
  throw new Error('expected a ValidationError');
}

describe('parseExportBarsQuery', () => {
  it('defaults to every bar as CSV', () => {
    expect(parseExportBarsQuery({})).toEqual({ format: 'csv' });
  });

  it('reads symbol or symbols as one upper-cased list without repeats, dates and format', () => {
    expect(parseExportBarsQuery({ symbol: ' aapl ' })).toEqual({
      symbols: ['AAPL'],
      format: 'csv',
    });
    expect(
      parseExportBarsQuery({
        symbols: 'msft, AAPL,brk.b,MSFT',
        start_date: '2024-01-01',
        end_date: '2024-01-01',
        format: 'ndjson',
      }),
    ).toEqual({
      symbols: ['MSFT', 'AAPL', 'BRK.B'],
      start_date: '2024-01-01',
      end_date: '2024-01-01',
      format: 'ndjson',
    });
  });

  it('accepts 100 symbols and refuses 101', () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => `S${i}`).join(',');
    expect(parseExportBarsQuery({ symbols: list(100) }).symbols).toHaveLength(100);
    expect(problems({ symbols: list(101) })).toEqual([
      { field: 'symbols', message: SYMBOL_MESSAGES.symbols },
    ]);
  });

  it('lists every bad parameter at once', () => {
    expect(
      problems({
        symbol: 'AAPL',
        symbols: 'MSFT',
        start_date: '2024-02-30',
        end_date: '24-01-01',
        format: 'xlsx',
        page: '2',
      }).map((e) => e.field),
    ).toEqual(['page', 'symbols', 'start_date', 'end_date', 'format']);
    expect(problems({ symbols: 'AAPL,,MSFT' })[0].field).toBe('symbols');
    expect(problems({ symbols: ['AAPL', 'MSFT'] })[0].field).toBe('symbols');
    expect(problems({ symbol: 'bad symbol!' })[0].field).toBe('symbol');
    expect(problems({ start_date: '2024-02-01', end_date: '2024-01-01' })).toEqual([
      { field: 'end_date', message: 'end_date must not be before start_date' },
    ]);
  });
});
