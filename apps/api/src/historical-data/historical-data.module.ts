import { IngestModule } from '@app/ingest';
import { MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { SecurityModule } from '../security/security.module';
import { AggregateService } from './aggregate.service';
import { HistoricalDataController } from './historical-data.controller';
import { HistoricalDataService } from './historical-data.service';
import { LIST_PATH, ListFastPath } from './list-fast-path';

@Module({
  imports: [IngestModule, SecurityModule],
  controllers: [HistoricalDataController],
  providers: [HistoricalDataService, AggregateService],
})
export class HistoricalDataModule implements NestModule {
  /** GET /api/v1/data's fast path: after the global middlewares (request logger included). */
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(ListFastPath).forRoutes({ path: LIST_PATH, method: RequestMethod.GET });
  }
}
