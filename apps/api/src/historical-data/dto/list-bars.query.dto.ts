import { SYMBOL_PATTERN } from '@app/ingest';
import { ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { parseListBarsQuery } from './list-bars.query.parser';
import {
  IsIn,
  IsInt,
  IsISO8601,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidationArguments,
  ValidationOptions,
} from 'class-validator';

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;

export const upperTrim = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' ? value.trim().toUpperCase() : value;

/** The value is a date no earlier than the sibling property's (when both are present). */
function IsNotBefore(property: string, options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isNotBefore',
      constraints: [property],
      validator: {
        validate: (value: unknown, args?: ValidationArguments) => {
          const other = (args?.object as Record<string, unknown>)[property];
          return typeof other !== 'string' || typeof value !== 'string' || value >= other;
        },
        defaultMessage: (args?: ValidationArguments) =>
          `${args?.property} must not be before ${property}`,
      },
    },
    options,
  );
}

const dateMessage = (args: ValidationArguments): string =>
  `${args.property} must be a real date written YYYY-MM-DD`;

/** Filters shared by listing and bulk delete. */
export class BarFilterQueryDto {
  /** Symbol to select, case-insensitive (e.g. AAPL, BRK.B, ^GSPC). */
  @ApiPropertyOptional({ example: 'AAPL', pattern: '^[A-Za-z0-9.\\-^=_/:]{1,32}$' })
  @IsOptional()
  @Transform(upperTrim)
  @Matches(SYMBOL_PATTERN, {
    message: 'symbol must be 1-32 characters of A-Z 0-9 . - ^ = _ / :',
  })
  symbol?: string;

  /** First date included, YYYY-MM-DD. */
  @ApiPropertyOptional({ example: '2024-01-01', format: 'date' })
  @IsOptional()
  @Matches(ISO_DAY, { message: dateMessage })
  @IsISO8601({ strict: true, strictSeparator: true }, { message: dateMessage })
  start_date?: string;

  /** Last date included, YYYY-MM-DD; not before start_date. */
  @ApiPropertyOptional({ example: '2024-12-31', format: 'date' })
  @IsOptional()
  @Matches(ISO_DAY, { message: dateMessage })
  @IsISO8601({ strict: true, strictSeparator: true }, { message: dateMessage })
  @IsNotBefore('start_date')
  end_date?: string;
}

/** `page`, shared by every paginated list. */
export class PageQueryDto {
  /** 1-based page number. */
  @ApiPropertyOptional({ type: 'integer', example: 1 })
  @IsOptional()
  @Type(() => Number)
  // class-validator checks a property bottom-up and stops at the first failure: the type check
  // goes last, so `page=abc` is told it must be a whole number, not that it is too large.
  @Max(10_000_000, { message: 'page must be at most 10000000' })
  @Min(1, { message: 'page must be a whole number >= 1' })
  @IsInt({ message: 'page must be a whole number >= 1' })
  page: number = 1;
}

/**
 * GET /api/v1/data's parameters. The decorators document them (OpenAPI) and are the reference the
 * parser's spec checks; requests are parsed by `parseQuery` (no class instance per request).
 */
export class ListBarsQueryDto extends IntersectionType(BarFilterQueryDto, PageQueryDto) {
  static parseQuery = parseListBarsQuery;

  /** Several symbols (comma list, at most 100), exclusive with `symbol`; ordered by date, then symbol. */
  @ApiPropertyOptional({ type: String, example: 'AAPL,MSFT,BRK.B' })
  symbols?: string[];

  /**
   * Keyset pagination: the `pagination.nextCursor` of the previous page. With a cursor `page` is
   * ignored and no OFFSET is used (page 5 000 costs what page 1 costs). Bound to the filter and
   * sort it was issued for; anything else is 400 INVALID_CURSOR.
   */
  @ApiPropertyOptional({
    example: 'WzEsIjIwMjQtMDUtMjQiLCJBQVBMIiwxLDI1Ml0.3q2-7w_1Bq0vX9yQm1lT5A',
  })
  cursor?: string;

  /** Rows per page, 1-1000. */
  @ApiPropertyOptional({ type: 'integer', example: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number between 1 and 1000' })
  @Min(1, { message: 'limit must be a whole number between 1 and 1000' })
  @Max(1000, { message: 'limit must be a whole number between 1 and 1000' })
  limit: number = 100;

  /** Date order (ties broken by symbol in the same direction). */
  @ApiPropertyOptional({ enum: ['asc', 'desc'], default: 'asc' })
  @IsOptional()
  @IsIn(['asc', 'desc'], { message: 'sort must be asc or desc' })
  sort: 'asc' | 'desc' = 'asc';
}
