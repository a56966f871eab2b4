import { Global, Module } from '@nestjs/common';
import { JsonIdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyService } from './idempotency.service';

@Global()
@Module({
  providers: [IdempotencyService, JsonIdempotencyInterceptor],
  exports: [IdempotencyService, JsonIdempotencyInterceptor],
})
export class IdempotencyModule {}
