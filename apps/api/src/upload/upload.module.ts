import { IngestModule } from '@app/ingest';
import { Module } from '@nestjs/common';
import { UploadController } from './upload.controller';
import { UploadIdempotencyInterceptor } from './upload-idempotency.interceptor';
import { UploadJobs } from './upload.jobs';
import { UploadRecorder } from './upload.recorder';
import { UploadService } from './upload.service';

@Module({
  imports: [IngestModule],
  controllers: [UploadController],
  providers: [UploadService, UploadRecorder, UploadJobs, UploadIdempotencyInterceptor],
  exports: [UploadService, UploadRecorder],
})
export class UploadModule {}
