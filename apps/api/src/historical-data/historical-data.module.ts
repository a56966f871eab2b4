import { IngestModule } from '@app/ingest';
import { Module } from '@nestjs/common';
import { HistoricalDataController } from './historical-data.controller';
import { HistoricalDataService } from './historical-data.service';

@Module({
  imports: [IngestModule],
  controllers: [HistoricalDataController],
  providers: [HistoricalDataService],
})
export class HistoricalDataModule {}
