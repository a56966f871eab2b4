import { ApiPropertyOptional } from '@nestjs/swagger';
import { BarFilterQueryDto } from './list-bars.query.dto';
import { parseExportBarsQuery } from './export-bars.query.parser';
import { MAX_SYMBOLS } from './symbols.param';

/**
 * GET /api/v1/data/export's parameters: every filter optional (none = every bar). The decorators
 * document them; requests are parsed by `parseQuery` (export-bars.query.parser.ts).
 */
export class ExportBarsQueryDto extends BarFilterQueryDto {
  static parseQuery = parseExportBarsQuery;

  /** Several symbols, comma-separated (at most 100); not together with `symbol`. */
  @ApiPropertyOptional({
    example: 'AAPL,MSFT',
    description: `Comma-separated symbols, at most ${MAX_SYMBOLS}, case-insensitive; not together with \`symbol\`.`,
  })
  symbols?: string;

  /** csv (default): header `symbol,date,open,high,low,close,adj_close,volume`; ndjson: one Bar object per line. */
  @ApiPropertyOptional({ enum: ['csv', 'ndjson'], default: 'csv' })
  format?: 'csv' | 'ndjson';
}
