import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/**
 * A bar as clients send it. Documentation only: the bar rule set (libs/ingest) validates
 * bodies, because class-validator per element is far too slow for 10 000-bar arrays.
 * Numbers may also be sent as strings ("1,234.50", "$12.5"); see docs/API.md.
 */
export class BarInputDto {
  @ApiProperty({
    example: 'AAPL',
    description: 'Trimmed and upper-cased; 1-32 of A-Z 0-9 . - ^ = _ / :',
  })
  symbol!: string;

  @ApiProperty({
    example: '2024-01-02',
    description:
      'YYYY-MM-DD (also YYYY/MM/DD, YYYYMMDD, MM/DD/YYYY, DD.MM.YYYY, midnight ISO datetime)',
  })
  date!: string;

  @ApiProperty({ example: 187.15, description: '> 0, within [low, high]' })
  open!: number;

  @ApiProperty({ example: 188.44, description: '>= open, close and low' })
  high!: number;

  @ApiProperty({ example: 183.89, description: '<= open and close' })
  low!: number;

  @ApiProperty({ example: 185.64, description: '> 0, within [low, high]' })
  close!: number;

  @ApiPropertyOptional({
    example: 184.73,
    nullable: true,
    description: 'Adjusted close; `adj_close` is accepted too',
  })
  adjClose?: number | null;

  @ApiProperty({ example: 82488700, description: 'Whole number >= 0' })
  volume!: number;
}

export class BarPatchDto {
  @ApiPropertyOptional({ example: 'AAPL' })
  symbol?: string;
  @ApiPropertyOptional({ example: '2024-01-02' })
  date?: string;
  @ApiPropertyOptional({ example: 187.15 })
  open?: number;
  @ApiPropertyOptional({ example: 188.44 })
  high?: number;
  @ApiPropertyOptional({ example: 183.89 })
  low?: number;
  @ApiPropertyOptional({ example: 185.64 })
  close?: number;
  @ApiPropertyOptional({ example: 184.73, nullable: true })
  adjClose?: number | null;
  @ApiPropertyOptional({ example: 82488700 })
  volume?: number;
}
