import { Module } from '@nestjs/common';
import { BarWriter } from './bar.writer';
import { CsvIngestor } from './csv.ingestor';

@Module({
  providers: [BarWriter, CsvIngestor],
  exports: [BarWriter, CsvIngestor],
})
export class IngestModule {}
