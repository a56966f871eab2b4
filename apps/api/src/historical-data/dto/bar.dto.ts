import { ROW_ERROR_CODES } from '@app/ingest';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class BarDto {
  @ApiProperty({ example: 1 })
  id!: number;
  @ApiProperty({ example: 'AAPL' })
  symbol!: string;
  @ApiProperty({ example: '2024-01-02', format: 'date' })
  date!: string;
  @ApiProperty({ example: 187.15 })
  open!: number;
  @ApiProperty({ example: 188.44 })
  high!: number;
  @ApiProperty({ example: 183.89 })
  low!: number;
  @ApiProperty({ example: 185.64 })
  close!: number;
  @ApiPropertyOptional({ example: 184.73, description: 'Present only when stored' })
  adjClose?: number;
  @ApiProperty({ example: 82488700 })
  volume!: number;
}

export class PaginationDto {
  @ApiProperty({ example: 1 })
  page!: number;
  @ApiProperty({ example: 100 })
  limit!: number;
  @ApiProperty({
    example: 252,
    description:
      'Rows matching the filters (in cursor mode: as counted for the first page, not recomputed)',
  })
  total!: number;
  @ApiProperty({ example: 3 })
  totalPages!: number;
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'WzEsIjIwMjQtMDUtMjQiLCJBQVBMIiwxLDI1Ml0.3q2-7w_1Bq0vX9yQm1lT5A',
    description:
      'Pass as `cursor` to get the rows after this page (keyset, no OFFSET); null on the last page. Opaque, bound to the filter and sort.',
  })
  nextCursor!: string | null;
}

export class BarPageDto {
  @ApiProperty({ type: [BarDto] })
  data!: BarDto[];
  @ApiProperty({ type: PaginationDto })
  pagination!: PaginationDto;
}

export class RowErrorDto {
  @ApiProperty({ example: 3, description: 'Position of the bar in the request array (0-based)' })
  index!: number;
  @ApiProperty({ example: 'high' })
  field!: string;
  @ApiProperty({
    example: 'HIGH_BELOW_LOW',
    enum: ROW_ERROR_CODES,
  })
  code!: string;
  @ApiProperty({ example: 'high 10 is below low 12' })
  message!: string;
}

export class WriteReportDto {
  @ApiProperty({ example: 3 })
  received!: number;
  @ApiProperty({ example: 1 })
  inserted!: number;
  @ApiProperty({ example: 1 })
  updated!: number;
  @ApiProperty({ example: 0 })
  skipped!: number;
  @ApiProperty({ example: 1 })
  failed!: number;
  @ApiProperty({ type: [RowErrorDto] })
  errors!: RowErrorDto[];
}

export class DeleteResultDto {
  @ApiProperty({ example: 21, description: 'Rows deleted' })
  deleted!: number;
}
