import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';

/** Strict booleans for query strings: only true/false, anything else is a 400. */
export const toBoolean = ({ value }: { value: unknown }): unknown =>
  value === 'true' ? true : value === 'false' ? false : value;

export const CONFLICT_MODES = ['update', 'skip', 'error'] as const;

export class WriteBarsQueryDto {
  /** What to do when (symbol, date) is already stored: update it, skip the row, or fail the row. */
  @ApiPropertyOptional({ enum: CONFLICT_MODES, example: 'update' })
  @IsOptional()
  @IsIn(CONFLICT_MODES, { message: 'onConflict must be update, skip or error' })
  onConflict: (typeof CONFLICT_MODES)[number] = 'update';

  /** true: any invalid row refuses the whole request (422, nothing written). */
  @ApiPropertyOptional({ example: false })
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'atomic must be true or false' })
  atomic: boolean = false;
}
