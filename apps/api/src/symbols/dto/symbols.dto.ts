import { ApiProperty } from '@nestjs/swagger';

export class SymbolSummaryDto {
  @ApiProperty({ example: 'AAPL' })
  symbol!: string;
  @ApiProperty({
    example: '1980-12-12',
    format: 'date',
    description: 'Date of the first stored bar',
  })
  firstDate!: string;
  @ApiProperty({
    example: '2024-12-31',
    format: 'date',
    description: 'Date of the last stored bar',
  })
  lastDate!: string;
  @ApiProperty({ example: 11102, description: 'Bars stored' })
  bars!: number;
}

export class SymbolsPaginationDto {
  @ApiProperty({ example: 1 })
  page!: number;
  @ApiProperty({ example: 100 })
  limit!: number;
  @ApiProperty({ example: 200, description: 'Symbols stored' })
  total!: number;
  @ApiProperty({ example: 2 })
  totalPages!: number;
}

export class SymbolPageDto {
  @ApiProperty({ type: [SymbolSummaryDto] })
  data!: SymbolSummaryDto[];
  @ApiProperty({ type: SymbolsPaginationDto })
  pagination!: SymbolsPaginationDto;
}

export class GapDto {
  @ApiProperty({ example: '2024-03-11', format: 'date', description: 'First missing weekday' })
  start!: string;
  @ApiProperty({ example: '2024-03-15', format: 'date', description: 'Last missing weekday' })
  end!: string;
  @ApiProperty({ example: 5, description: 'Missing Mon–Fri dates in the run' })
  businessDays!: number;
}

export class SymbolGapsDto {
  @ApiProperty({ example: 'AAPL' })
  symbol!: string;
  @ApiProperty({ type: [GapDto] })
  data!: GapDto[];
}
