import { invalidParameters, ProblemFieldError } from '@app/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { MESSAGES } from '../../historical-data/dto/list-bars.query.parser';

const MAX_PAGE = 10_000_000;
export const MAX_GAP_DAYS = 100_000;

/** A whole number written in decimal, or undefined. */
function wholeNumber(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\s*\d{1,9}\s*$/.test(value)) return undefined;
  return Number(value);
}

function refuseUnknown(
  query: Record<string, unknown>,
  known: readonly string[],
  errors: ProblemFieldError[],
): void {
  for (const name in query) {
    if (!known.includes(name))
      errors.push({ field: name, message: `${name} is not a known parameter` });
  }
}

export interface SymbolsListQuery {
  page: number;
  limit: number;
}

/** GET /api/v1/symbols: `page` and `limit`, as on GET /api/v1/data. */
export class SymbolsListQueryDto {
  static parseQuery(query: Record<string, unknown>): SymbolsListQuery {
    const errors: ProblemFieldError[] = [];
    refuseUnknown(query, ['page', 'limit'], errors);
    const out: SymbolsListQuery = { page: 1, limit: 100 };
    if (query.page !== undefined) {
      const page = wholeNumber(query.page);
      if (page === undefined || page < 1) errors.push({ field: 'page', message: MESSAGES.page });
      else if (page > MAX_PAGE) errors.push({ field: 'page', message: MESSAGES.pageMax });
      else out.page = page;
    }
    if (query.limit !== undefined) {
      const limit = wholeNumber(query.limit);
      if (limit === undefined || limit < 1 || limit > 1000)
        errors.push({ field: 'limit', message: MESSAGES.limit });
      else out.limit = limit;
    }
    if (errors.length) throw invalidParameters(errors);
    return out;
  }

  /** 1-based page number. */
  @ApiPropertyOptional({ type: 'integer', example: 1, minimum: 1, default: 1 })
  page?: number;

  /** Symbols per page, 1-1000. */
  @ApiPropertyOptional({ type: 'integer', example: 100, minimum: 1, maximum: 1000, default: 100 })
  limit?: number;
}

export interface GapsQuery {
  min_business_days: number;
}

/** GET /api/v1/symbols/:symbol/gaps. */
export class GapsQueryDto {
  static parseQuery(query: Record<string, unknown>): GapsQuery {
    const errors: ProblemFieldError[] = [];
    refuseUnknown(query, ['min_business_days'], errors);
    const out: GapsQuery = { min_business_days: 3 };
    if (query.min_business_days !== undefined) {
      const n = wholeNumber(query.min_business_days);
      if (n === undefined || n < 1 || n > MAX_GAP_DAYS)
        errors.push({
          field: 'min_business_days',
          message: `min_business_days must be a whole number between 1 and ${MAX_GAP_DAYS}`,
        });
      else out.min_business_days = n;
    }
    if (errors.length) throw invalidParameters(errors);
    return out;
  }

  /** Shortest run of missing Mon–Fri dates reported. */
  @ApiPropertyOptional({
    type: 'integer',
    example: 3,
    minimum: 1,
    maximum: MAX_GAP_DAYS,
    default: 3,
  })
  min_business_days?: number;
}
