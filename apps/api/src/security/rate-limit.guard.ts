import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError } from '@app/common';
import { RedisConnection } from '@app/database';
import { rateLimitedRequestsTotal } from '@app/observability';
import { ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { isInfrastructurePath } from './auth.guard';
import { clientScope, identityOf } from './client-identity';
import { MemoryRateLimitStore, RedisRateLimitStore } from './rate-limit.stores';
import { CachedReflector } from './cached-reflector';

const UPLOAD_LIMIT_KEY = 'hd:upload-rate-limit';
/** The route also draws on the per-client upload budget (RATE_LIMIT_UPLOADS). */
export const UploadRateLimit = (): MethodDecorator => SetMetadata(UPLOAD_LIMIT_KEY, true);

/**
 * Two budgets per client and window: "default" for every request (RATE_LIMIT_KEYED with an API
 * key, RATE_LIMIT_ANONYMOUS by IP without one), "uploads" for uploads only. One budget per client,
 * not per route; kept in Redis when REDIS_URL is set so replicas share it.
 */
export function rateLimitOptions(
  config: AppConfig,
  redis: RedisConnection,
): ThrottlerModuleOptions {
  const reflector = new CachedReflector();
  const { windowMs, keyed, anonymous, uploads } = config.rateLimit;
  return {
    throttlers: [
      {
        name: 'default',
        ttl: windowMs,
        limit: (context: ExecutionContext) =>
          identityOf(context.switchToHttp().getRequest<Request>()).kind === 'key'
            ? keyed
            : anonymous,
      },
      {
        name: 'uploads',
        ttl: windowMs,
        limit: uploads,
        skipIf: (context: ExecutionContext) =>
          !(reflector.get(UPLOAD_LIMIT_KEY, context.getHandler()) as boolean | undefined),
      },
    ],
    storage: redis.enabled ? new RedisRateLimitStore(redis) : new MemoryRateLimitStore(),
    getTracker: (req: Record<string, unknown>) => clientScope(req as unknown as Request),
    generateKey: (_context: ExecutionContext, tracker: string, name: string) =>
      `${name}:${tracker}`,
  };
}

@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    // The throttler reads six metadata keys per budget on every request: answered from a cache.
    super(options, storage, new CachedReflector());
  }

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (!this.config.rateLimit.enabled) return Promise.resolve(true);
    const req = context.switchToHttp().getRequest<Request>();
    return Promise.resolve(isInfrastructurePath(req.path));
  }

  protected override throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    rateLimitedRequestsTotal.inc();
    const retryAfter = Math.max(1, detail.timeToBlockExpire);
    throw new AppError(
      'RATE_LIMITED',
      `Too many requests: ${detail.limit} per ${Math.round(detail.ttl / 1000)} s for this client. Retry after ${retryAfter} s.`,
      { headers: { 'Retry-After': String(retryAfter) } },
    );
  }
}
