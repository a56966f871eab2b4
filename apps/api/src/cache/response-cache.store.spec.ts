import { Doorkeeper, MemoryResponseCacheStore } from './response-cache.store';

const entry = (bytes: number) => ({ body: Buffer.alloc(bytes, 'x'), etag: 'W/"1"', deps: [] });

describe('MemoryResponseCacheStore admission', () => {
  it('keeps every response while there is room', async () => {
    const store = new MemoryResponseCacheStore(10_000);
    for (let i = 0; i < 5; i++) await store.set(`k${i}`, entry(1000), 60_000);
    for (let i = 0; i < 5; i++) expect(await store.get(`k${i}`)).toBeDefined();
  });

  it('once full, keeps only keys asked for before: one-off reads do not evict what is read again', async () => {
    const store = new MemoryResponseCacheStore(5_000);
    for (let i = 0; i < 4; i++) await store.set(`hot${i}`, entry(1000), 60_000);
    for (let i = 0; i < 50; i++) await store.set(`once${i}`, entry(1000), 60_000);
    for (let i = 0; i < 4; i++) expect(await store.get(`hot${i}`)).toBeDefined();
    expect(await store.get('once7')).toBeUndefined();
    // A key offered a second time is admitted (and the least recently used entry makes room).
    await store.set('once7', entry(1000), 60_000);
    expect(await store.get('once7')).toBeDefined();
  });
});

describe('Doorkeeper', () => {
  it('says "seen" the second time, and forgets everything when full', () => {
    const door = new Doorkeeper(3);
    expect(door.offer('a')).toBe(false);
    expect(door.offer('a')).toBe(true);
    door.offer('b');
    door.offer('c');
    expect(door.offer('d')).toBe(false); // full: started over
    expect(door.offer('a')).toBe(false);
  });
});
