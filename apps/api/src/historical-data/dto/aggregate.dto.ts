import { ApiProperty } from '@nestjs/swagger';

export class AggregateBarDto {
  @ApiProperty({ example: 'AAPL' })
  symbol!: string;
  @ApiProperty({
    example: '2024-01-01',
    format: 'date',
    description: 'First calendar day of the period',
  })
  periodStart!: string;
  @ApiProperty({
    example: '2024-01-31',
    format: 'date',
    description: 'Last calendar day of the period',
  })
  periodEnd!: string;
  @ApiProperty({ example: 187.15, description: "The period's first bar's open" })
  open!: number;
  @ApiProperty({ example: 196.38, description: 'Highest high' })
  high!: number;
  @ApiProperty({ example: 180.17, description: 'Lowest low' })
  low!: number;
  @ApiProperty({ example: 184.4, description: "The period's last bar's close" })
  close!: number;
  @ApiProperty({ example: 1187490800, description: 'Sum of the volumes' })
  volume!: number;
  @ApiProperty({ example: 20, description: 'Bars stored in the period' })
  bars!: number;
}

export class AggregatePageDto {
  @ApiProperty({ type: [AggregateBarDto] })
  data!: AggregateBarDto[];
}
