import { ThrottledWarning } from '@app/common';
import { RedisConnection } from '@app/database';
import { Logger } from '@nestjs/common';
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

// KEYS[1] the window's counter, KEYS[2] the block marker; ARGV ttl ms, limit, block ms.
const INCREMENT = `
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
local blocked = redis.call('PTTL', KEYS[2])
if blocked <= 0 and hits > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  blocked = tonumber(ARGV[3])
end
return {hits, ttl, blocked}
`;

type RateLimitRedis = { rateLimitIncrement(...args: (string | number)[]): Promise<number[]> };

/**
 * The same counters in Redis (one Lua script, atomic), so every replica draws on one budget per
 * client. While Redis is unreachable requests are let through (logged): rate limiting degrades,
 * the API does not go down with it; readiness reports Redis down meanwhile.
 */
export class RedisRateLimitStore implements ThrottlerStorage {
  private readonly outage = new ThrottledWarning(new Logger('RateLimit'));

  constructor(private readonly redis: RedisConnection) {
    redis.client!.defineCommand('rateLimitIncrement', { numberOfKeys: 2, lua: INCREMENT });
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
  ): Promise<ThrottlerStorageRecord> {
    try {
      const client = this.redis.client as unknown as RateLimitRedis;
      const [hits, ttlMs, blockedMs] = await client.rateLimitIncrement(
        `rl:${key}`,
        `rl:${key}:blocked`,
        ttl,
        limit,
        blockDuration,
      );
      const blocked = blockedMs > 0;
      return {
        totalHits: hits,
        timeToExpire: Math.ceil(Math.max(ttlMs, 0) / 1000),
        isBlocked: blocked,
        timeToBlockExpire: blocked ? Math.ceil(blockedMs / 1000) : 0,
      };
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
