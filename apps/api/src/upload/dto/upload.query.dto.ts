import { DECIMAL_SEPARATORS, DecimalSeparator, SYMBOL_PATTERN } from '@app/ingest';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { PageQueryDto, upperTrim } from '../../historical-data/dto/list-bars.query.dto';
import { toBoolean, WriteBarsQueryDto } from '../../historical-data/dto/write-bars.query.dto';

export class UploadQueryDto extends WriteBarsQueryDto {
  /** Validate and report only; write nothing. */
  @ApiPropertyOptional({ example: false })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'dryRun must be true or false' })
  dryRun: boolean = false;

  /** Symbol for files without a symbol column (Yahoo Finance exports). */
  @ApiPropertyOptional({ example: 'AAPL' })
  @IsOptional()
  @Transform(upperTrim)
  @Matches(SYMBOL_PATTERN, { message: 'symbol must be 1-32 characters of A-Z 0-9 . - ^ = _ / :' })
  symbol?: string;

  /** How to read slash dates: MM/DD/YYYY (default) or DD/MM/YYYY. */
  @ApiPropertyOptional({ example: 'MM/DD/YYYY' })
  @IsOptional()
  @IsIn(['MM/DD/YYYY', 'DD/MM/YYYY'], { message: 'dateFormat must be MM/DD/YYYY or DD/MM/YYYY' })
  dateFormat?: 'MM/DD/YYYY' | 'DD/MM/YYYY';

  /**
   * Decimal separator of the file's numbers: `.` (default), `,` (1469,25 or 1.469,25) or `auto`
   * (a lone comma is decimal; with both, the last one). Semicolon files default to `auto`.
   */
  @ApiPropertyOptional({ enum: DECIMAL_SEPARATORS, example: ',' })
  @IsOptional()
  @IsIn(DECIMAL_SEPARATORS, { message: 'decimal must be ".", "," or "auto"' })
  decimal?: DecimalSeparator;

  /** Process in the background: 202 with a status URL (same as `Prefer: respond-async`). */
  @ApiPropertyOptional({ example: false })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'async must be true or false' })
  async: boolean = false;
}

export class ListUploadsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ type: 'integer', example: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt({ message: 'limit must be a whole number between 1 and 1000' })
  @Min(1, { message: 'limit must be a whole number between 1 and 1000' })
  @Max(1000, { message: 'limit must be a whole number between 1 and 1000' })
  limit: number = 50;
}
