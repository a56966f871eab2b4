import type { AppConfig } from '@app/config';
import { RedisConnection } from '@app/database';
import { Logger } from '@nestjs/common';
import { redisTestUrl, uniqueRedisPrefix } from '../../../../test/setup/redis-test';
import { MemoryRateLimitStore, RedisRateLimitStore } from './rate-limit.stores';

describe('MemoryRateLimitStore', () => {
  it('counts hits in a fixed window and blocks past the limit until the block ends', async () => {
    const store = new MemoryRateLimitStore();
    const hit = () => store.increment('default:ip:1', 60_000, 2, 60_000);
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 60 });
    expect(await hit()).toMatchObject({ totalHits: 2, isBlocked: false });
    const third = await hit();
    expect(third).toMatchObject({ totalHits: 3, isBlocked: true });
    expect(third.timeToBlockExpire).toBeGreaterThan(0);
  });

  it('starts a new window once the old one expired', async () => {
    const store = new MemoryRateLimitStore();
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      await store.increment('k', 1000, 1, 1000);
      expect((await store.increment('k', 1000, 1, 1000)).isBlocked).toBe(true);
      now.mockReturnValue(1_002_001);
      expect(await store.increment('k', 1000, 1, 1000)).toMatchObject({
        totalHits: 1,
        isBlocked: false,
      });
    } finally {
      now.mockRestore();
    }
  });

  it('stays bounded under a flood of distinct clients', async () => {
    const store = new MemoryRateLimitStore(1000);
    for (let i = 0; i < 50_000; i++) await store.increment(`default:ip:${i}`, 60_000, 100, 60_000);
    expect(store.size).toBe(1000);
  });
});

describe('RedisRateLimitStore (@nest-lab/throttler-storage-redis, failing open)', () => {
  const connect = async (url: string) => {
    const redis = new RedisConnection({
      redis: { url, keyPrefix: uniqueRedisPrefix() },
    } as AppConfig);
    await redis.onModuleInit();
    return redis;
  };

  (redisTestUrl() ? it : it.skip)(
    'counts one budget per key in Redis and blocks past the limit',
    async () => {
      const redis = await connect(redisTestUrl()!);
      try {
        const store = new RedisRateLimitStore(redis);
        const hit = () => store.increment('default:key:etl', 60_000, 2, 60_000, 'default');
        expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 60 });
        expect(await hit()).toMatchObject({ totalHits: 2, isBlocked: false });
        expect(await hit()).toMatchObject({ totalHits: 3, isBlocked: true, timeToBlockExpire: 60 });
      } finally {
        await redis.onApplicationShutdown();
      }
    },
  );

  it('lets requests through, and says so in the log, while Redis is unreachable', async () => {
    const redis = await connect('redis://127.0.0.1:1');
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const store = new RedisRateLimitStore(redis);
      for (let i = 0; i < 3; i++) {
        expect(await store.increment('default:ip:1', 60_000, 1, 60_000, 'default')).toEqual({
          totalHits: 0,
          timeToExpire: 60,
          isBlocked: false,
          timeToBlockExpire: 0,
        });
      }
      expect(warn.mock.calls.flat().join(' ')).toContain('rate limits not enforced');
    } finally {
      warn.mockRestore();
      await redis.onApplicationShutdown();
    }
  });
});
