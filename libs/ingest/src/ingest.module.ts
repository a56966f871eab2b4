import { Module } from '@nestjs/common';
import { BarWriter } from './bar.writer';

@Module({
  providers: [BarWriter],
  exports: [BarWriter],
})
export class IngestModule {}
