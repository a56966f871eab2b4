import { IngestModule } from '@app/ingest';
import { Module } from '@nestjs/common';
import { AggregateService } from './aggregate.service';
import { HistoricalDataController } from './historical-data.controller';
import { HistoricalDataService } from './historical-data.service';

@Module({
  imports: [IngestModule],
  controllers: [HistoricalDataController],
  providers: [HistoricalDataService, AggregateService],
})
export class HistoricalDataModule {}
