import { IngestModule } from '@app/ingest';
import { Module } from '@nestjs/common';
import { UploadController } from './upload.controller';
import { UploadIdempotencyInterceptor } from './upload-idempotency.interceptor';
import { UploadJobs } from './upload.jobs';
import { UploadRecorder } from './upload.recorder';
import { UploadService } from './upload.service';
import { UploadSweeper } from './upload.sweeper';

@Module({
  imports: [IngestModule],
  controllers: [UploadController],
  providers: [
    UploadService,
    UploadRecorder,
    UploadJobs,
    UploadSweeper,
    UploadIdempotencyInterceptor,
  ],
  exports: [UploadService, UploadRecorder],
})
export class UploadModule {}
