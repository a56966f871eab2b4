import { ApiProblems, ValidationError } from '@app/common';
import type { Bar, SymbolSummary } from '@app/database';
import { Controller, Get, Param, PipeTransform, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { CachedBySymbols } from '../cache/cache.interceptor';
import { BarDto } from '../historical-data/dto/bar.dto';
import { parseSymbol, SYMBOL_MESSAGES } from '../historical-data/dto/symbols.param';
import { Read } from '../security/security.decorators';
import { SymbolGapsDto, SymbolPageDto, SymbolSummaryDto } from './dto/symbols.dto';
import {
  GapsQuery,
  GapsQueryDto,
  SymbolsListQuery,
  SymbolsListQueryDto,
} from './dto/symbols.query.dto';
import { SymbolsService } from './symbols.service';

/** `:symbol` as stored (trimmed, upper-cased); anything the rule set would refuse is a 400. */
class SymbolPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    const symbol = parseSymbol(value);
    if (symbol === undefined) {
      throw new ValidationError('Invalid value for: symbol.', [
        { field: 'symbol', message: SYMBOL_MESSAGES.symbol },
      ]);
    }
    return symbol;
  }
}

const SYMBOL_PARAM = {
  name: 'symbol',
  example: 'AAPL',
  description: 'Case-insensitive; URL-encode `/` as %2F.',
};

@ApiTags('symbols')
@Controller('api/v1/symbols')
export class SymbolsController {
  constructor(private readonly service: SymbolsService) {}

  @Get()
  @Read()
  @CachedBySymbols()
  @ApiOperation({
    summary: 'List stored symbols',
    description:
      'Every symbol with bars stored, ordered by symbol (byte order), with its first and last date and bar count. Answered from a summary table kept exact by every write, never by scanning bars.',
  })
  @ApiOkResponse({ type: SymbolPageDto })
  @ApiProblems('VALIDATION_ERROR')
  list(@Query() query: SymbolsListQueryDto): Promise<SymbolPageDto> {
    const { page, limit } = query as unknown as SymbolsListQuery;
    return this.service.list(page, limit);
  }

  @Get(':symbol')
  @Read()
  @CachedBySymbols()
  @ApiOperation({ summary: "One symbol's first and last date and bar count" })
  @ApiParam(SYMBOL_PARAM)
  @ApiOkResponse({ type: SymbolSummaryDto })
  @ApiProblems('VALIDATION_ERROR', 'NOT_FOUND')
  get(@Param('symbol', SymbolPipe) symbol: string): Promise<SymbolSummary> {
    return this.service.get(symbol);
  }

  @Get(':symbol/latest')
  @Read()
  @CachedBySymbols()
  @ApiOperation({
    summary: "The symbol's latest bar",
    description: 'Same shape as GET /api/v1/data/{id}.',
  })
  @ApiParam(SYMBOL_PARAM)
  @ApiOkResponse({ type: BarDto })
  @ApiProblems('VALIDATION_ERROR', 'NOT_FOUND')
  latest(@Param('symbol', SymbolPipe) symbol: string): Promise<Bar> {
    return this.service.latest(symbol);
  }

  @Get(':symbol/gaps')
  @Read()
  @CachedBySymbols()
  @ApiOperation({
    summary: 'Runs of missing weekdays',
    description:
      "Runs of at least min_business_days Mon–Fri dates without a bar between the symbol's first and last bar; start/end are the first and last missing date. Exchange holidays are not known: they show as short runs.",
  })
  @ApiParam(SYMBOL_PARAM)
  @ApiOkResponse({ type: SymbolGapsDto })
  @ApiProblems('VALIDATION_ERROR', 'NOT_FOUND')
  gaps(
    @Param('symbol', SymbolPipe) symbol: string,
    @Query() query: GapsQueryDto,
  ): Promise<SymbolGapsDto> {
    return this.service.gaps(symbol, (query as unknown as GapsQuery).min_business_days);
  }
}
