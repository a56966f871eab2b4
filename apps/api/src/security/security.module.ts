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
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
})
export class SecurityModule {}
