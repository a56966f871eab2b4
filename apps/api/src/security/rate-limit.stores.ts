import { ThrottledWarning } from '@app/common';
import { RedisConnection } from '@app/database';
import { Logger } from '@nestjs/common';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { LRUCache } from 'lru-cache';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

interface Window {
  hits: number;
  expiresAt: number;
  blockedUntil: number;
}

/**
 * In-process fixed-window counters, bounded: at most `maxClients` windows are kept (least
 * recently seen evicted first), so a flood of distinct clients cannot grow memory without limit;
 * an evicted client merely starts a fresh window.
 */
export class MemoryRateLimitStore implements ThrottlerStorage {
  private readonly windows: LRUCache<string, Window>;

  constructor(maxClients = 100_000) {
    this.windows = new LRUCache<string, Window>({ max: maxClients });
  }

  get size(): number {
    return this.windows.size;
  }

  increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    const now = Date.now();
    let w = this.windows.get(key);
    if (!w || (w.expiresAt <= now && w.blockedUntil <= now)) {
      w = { hits: 0, expiresAt: now + ttl, blockedUntil: 0 };
      this.windows.set(key, w);
    } else if (w.expiresAt <= now) {
      w.hits = 0;
      w.expiresAt = now + ttl;
    }
    w.hits++;
    if (w.blockedUntil <= now && w.hits > limit) w.blockedUntil = now + blockDuration;
    const blocked = w.blockedUntil > now;
    return Promise.resolve({
      totalHits: w.hits,
      timeToExpire: Math.ceil((w.expiresAt - now) / 1000),
      isBlocked: blocked,
      timeToBlockExpire: blocked ? Math.ceil((w.blockedUntil - now) / 1000) : 0,
    });
  }
}

/**
 * The same budgets in Redis, through the published store (@nest-lab/throttler-storage-redis: one
 * Lua script per hit, atomic), so every replica draws on one budget per client. Wrapped to fail
 * open: while Redis is unreachable requests are let through (logged, at most every few seconds):
 * rate limiting degrades, the API does not go down with it; readiness reports Redis down meanwhile.
 */
export class RedisRateLimitStore implements ThrottlerStorage {
  private readonly outage = new ThrottledWarning(new Logger('RateLimit'));
  private readonly store: ThrottlerStorageRedisService;

  constructor(redis: RedisConnection) {
    // Given the connection's own client, the store neither opens nor closes a connection (given
    // nothing, it would open one to localhost).
    if (!redis.client) throw new Error('RedisRateLimitStore needs REDIS_URL');
    this.store = new ThrottlerStorageRedisService(redis.client);
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      return await this.store.increment(key, ttl, limit, blockDuration, throttlerName);
    } catch (err) {
      this.outage.warn(`rate limits not enforced while Redis fails: ${(err as Error).message}`);
      return {
        totalHits: 0,
        timeToExpire: Math.ceil(ttl / 1000),
        isBlocked: false,
        timeToBlockExpire: 0,
      };
    }
  }
}
