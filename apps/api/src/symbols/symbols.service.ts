import { NotFoundError } from '@app/common';
import { Bar, HistoricalDataRepository, SymbolSummary, SymbolsRepository } from '@app/database';
import { Injectable } from '@nestjs/common';
import type { SymbolGapsDto, SymbolPageDto } from './dto/symbols.dto';
import { findGaps } from './gaps';

/**
 * The symbol catalogue. Lists and summaries come from the `symbols` table; the latest bar and the
 * gaps read one symbol's range of the (symbol, date) index. Nothing here scans the bars table.
 */
@Injectable()
export class SymbolsService {
  constructor(
    private readonly symbols: SymbolsRepository,
    private readonly bars: HistoricalDataRepository,
  ) {}

  async list(page: number, limit: number): Promise<SymbolPageDto> {
    const { rows, total } = await this.symbols.findPage(limit, (page - 1) * limit);
    return { data: rows, pagination: { page, limit, total, totalPages: Math.ceil(total / limit) } };
  }

  async get(symbol: string): Promise<SymbolSummary> {
    const summary = await this.symbols.findOne(symbol);
    if (!summary) throw unknown(symbol);
    return summary;
  }

  async latest(symbol: string): Promise<Bar> {
    const bar = await this.bars.findLatest(symbol);
    if (!bar) throw unknown(symbol);
    return bar;
  }

  async gaps(symbol: string, minBusinessDays: number): Promise<SymbolGapsDto> {
    await this.get(symbol);
    const dates = await this.bars.findDates(symbol);
    return { symbol, data: findGaps(dates, minBusinessDays) };
  }
}

const unknown = (symbol: string): NotFoundError =>
  new NotFoundError(`No bars stored for ${symbol}.`);
