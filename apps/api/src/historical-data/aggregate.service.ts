import { HistoricalDataRepository } from '@app/database';
import { Injectable } from '@nestjs/common';
import type { AggregateBarDto } from './dto/aggregate.dto';
import type { AggregateQuery } from './dto/aggregate.query.dto';
import { periodEnd } from './period';

/** GET /api/v1/data/aggregate: bars resampled to calendar periods. */
@Injectable()
export class AggregateService {
  constructor(private readonly repository: HistoricalDataRepository) {}

  async aggregate(query: AggregateQuery): Promise<{ data: AggregateBarDto[] }> {
    const rows = await this.repository.aggregate({
      symbols: query.symbols,
      interval: query.interval,
      startDate: query.start_date,
      endDate: query.end_date,
    });
    return {
      data: rows.map((r) => ({
        symbol: r.symbol,
        periodStart: r.periodStart,
        periodEnd: periodEnd(query.interval, r.periodStart),
        open: r.open,
        high: r.high,
        low: r.low,
        close: r.close,
        volume: r.volume,
        bars: r.bars,
      })),
    };
  }
}
