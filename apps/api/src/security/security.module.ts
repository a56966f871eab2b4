import { APP_CONFIG, AppConfig } from '@app/config';
import { RedisConnection } from '@app/database';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { AuthGuard } from './auth.guard';
import { RateLimitGuard, rateLimitOptions } from './rate-limit.guard';

/**
 * Rate limits first (so a flood of bad keys is limited by IP too), then API keys. The caller's
 * identity is resolved earlier, by the middleware configureApp installs.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, RedisConnection],
      useFactory: (config: AppConfig, redis: RedisConnection) => rateLimitOptions(config, redis),
    }),
  ],
  providers: [
    RateLimitGuard,
    AuthGuard,
    { provide: APP_GUARD, useExisting: RateLimitGuard },
    { provide: APP_GUARD, useExisting: AuthGuard },
  ],
  // The read fast path (ListFastPath) runs the same two instances, in this order.
  exports: [RateLimitGuard, AuthGuard],
})
export class SecurityModule {}
