import { MemoryRateLimitStore } from './rate-limit.stores';

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
