import { IngestModule } from '@app/ingest';
import { Module } from '@nestjs/common';
import { SecurityModule } from '../security/security.module';
import { AggregateService } from './aggregate.service';
import { HistoricalDataController } from './historical-data.controller';
import { HistoricalDataService } from './historical-data.service';
import { ListFastPath } from './list-fast-path';

@Module({
  imports: [IngestModule, SecurityModule],
  controllers: [HistoricalDataController],
  // GET /api/v1/data's fast path, put in front of Express by configureApp.
  providers: [HistoricalDataService, AggregateService, ListFastPath],
})
export class HistoricalDataModule {}
