import { invalidParameters, ProblemFieldError } from '@app/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { INTERVALS, Interval } from '../period';
import { parseDateRange } from './list-bars.query.parser';
import { MAX_SYMBOLS, parseSymbolsParam } from './symbols.param';

/** What GET /api/v1/data/aggregate's query parses to. */
export interface AggregateQuery {
  symbols: string[];
  interval: Interval;
  start_date?: string;
  end_date?: string;
}

const KNOWN = new Set(['symbol', 'symbols', 'interval', 'start_date', 'end_date']);

/**
 * Every bad parameter listed in one 400; unknown parameters refused. Hand-written like
 * GET /data's parser (no class instance per request); the decorators below document it.
 */
export function parseAggregateQuery(query: Record<string, unknown>): AggregateQuery {
  const errors: ProblemFieldError[] = [];
  for (const name in query) {
    if (!KNOWN.has(name)) errors.push({ field: name, message: `${name} is not a known parameter` });
  }
  const symbols = parseSymbolsParam(query, errors);
  if (symbols === undefined && query.symbol === undefined && query.symbols === undefined) {
    errors.push({ field: 'symbol', message: 'symbol or symbols is required' });
  }
  const interval = query.interval;
  if (!INTERVALS.includes(interval as Interval)) {
    errors.push({ field: 'interval', message: `interval must be one of ${INTERVALS.join(', ')}` });
  }
  const out = parseDateRange(query, errors);
  if (errors.length) throw invalidParameters(errors);
  return { ...out, symbols: symbols!, interval: interval as Interval };
}

/** GET /api/v1/data/aggregate's parameters (documentation; `parseQuery` checks them). */
export class AggregateQueryDto {
  static parseQuery = parseAggregateQuery;

  /** One symbol, case-insensitive. Exclusive with `symbols`. */
  @ApiPropertyOptional({ example: 'AAPL', pattern: '^[A-Za-z0-9.\\-^=_/:]{1,32}$' })
  symbol?: string;

  /** Comma-separated symbols (at most 100). Exclusive with `symbol`. */
  @ApiPropertyOptional({
    example: 'AAPL,MSFT',
    description: `Comma-separated list of at most ${MAX_SYMBOLS} symbols; exclusive with symbol.`,
  })
  symbols?: string;

  /** The period each row covers; weeks start on Monday. */
  @ApiProperty({ enum: INTERVALS, example: 'month' })
  interval!: Interval;

  /** First bar date included, YYYY-MM-DD. */
  @ApiPropertyOptional({ example: '2024-01-01', format: 'date' })
  start_date?: string;

  /** Last bar date included, YYYY-MM-DD; not before start_date. */
  @ApiPropertyOptional({ example: '2024-12-31', format: 'date' })
  end_date?: string;
}
