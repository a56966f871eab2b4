import { IngestModule } from '@app/ingest';
import { Module } from '@nestjs/common';
import { UploadController } from './upload.controller';
import { UploadService } from './upload.service';
import { UploadSweeper } from './upload.sweeper';

@Module({
  imports: [IngestModule],
  controllers: [UploadController],
  providers: [UploadService, UploadSweeper],
  exports: [UploadService],
})
export class UploadModule {}
