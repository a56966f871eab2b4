import { ThrottledWarning } from '@app/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';

/**
 * The one Redis connection (REDIS_URL), shared by the rate limiter, the response cache and the
 * idempotency store so replicas share their state; absent when REDIS_URL is unset (in-process
 * stores). Commands fail fast while Redis is unreachable instead of queueing, so callers can
 * degrade (readiness turns 503; see docs/OPERATIONS.md for what each feature does meanwhile).
 */
@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationShutdown {
  readonly client: Redis | undefined;
  private readonly outage = new ThrottledWarning(new Logger('Redis'));

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.client = config.redis.url
      ? new Redis(config.redis.url, {
          lazyConnect: true,
          // Every key this service writes starts with it: one Redis can serve several deployments.
          keyPrefix: config.redis.keyPrefix,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2000,
          // Keep trying while it is down, at most every 2 s.
          retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
        })
      : undefined;
    this.client?.on('error', (err: Error) => this.outage.warn(`Redis unavailable: ${err.message}`));
  }

  get enabled(): boolean {
    return this.client !== undefined;
  }

  async onModuleInit(): Promise<void> {
    if (!this.client) return;
    // Start even when Redis is down: readiness says so, and the client keeps reconnecting.
    await this.client.connect().catch(() => undefined);
  }

  /** PING with a deadline; rejects when Redis does not answer in time. */
  async ping(timeoutMs: number): Promise<void> {
    if (!this.client) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.client) return;
    // QUIT lets pending replies arrive; with no live connection, just stop reconnecting.
    if (this.client.status === 'ready') await this.client.quit().catch(() => undefined);
    this.client.disconnect();
  }
}
