import { RedisConnection } from '@app/database';
import { LRUCache } from 'lru-cache';

/** A cached response and the data generations it was computed from. */
export interface CachedEntry {
  body: unknown;
  /** [symbol, generation] pairs; "*" stands for "any symbol" (lists without a symbol filter). */
  deps: [string, number][];
}

/** Where cached responses and per-symbol generations live: this process, or Redis. */
export interface ResponseCacheStore {
  get(key: string): Promise<CachedEntry | undefined>;
  set(key: string, entry: CachedEntry, ttlMs: number): Promise<void>;
  /** Current generation of each symbol ("*" included), 0 for one never written. */
  generations(symbols: readonly string[]): Promise<number[]>;
  /** A write touched these symbols (and so "*"): entries computed before are stale. */
  bump(symbols: readonly string[]): Promise<void>;
  clear(): Promise<void>;
}

/**
 * In-process: an LRU bounded by the JSON size of what it holds (CACHE_MAX_BYTES), plus a
 * generation counter per symbol. Per instance: replicas need Redis to share invalidations.
 */
export class MemoryResponseCacheStore implements ResponseCacheStore {
  private readonly entries: LRUCache<string, CachedEntry>;
  private readonly gens = new Map<string, number>();

  constructor(maxBytes: number) {
    this.entries = new LRUCache<string, CachedEntry>({
      maxSize: maxBytes,
      sizeCalculation: (entry, key) => key.length + JSON.stringify(entry.body).length + 64,
    });
  }

  get(key: string): Promise<CachedEntry | undefined> {
    return Promise.resolve(this.entries.get(key));
  }

  set(key: string, entry: CachedEntry, ttlMs: number): Promise<void> {
    this.entries.set(key, entry, { ttl: ttlMs });
    return Promise.resolve();
  }

  generations(symbols: readonly string[]): Promise<number[]> {
    return Promise.resolve(symbols.map((s) => this.gens.get(s) ?? 0));
  }

  bump(symbols: readonly string[]): Promise<void> {
    for (const s of symbols) this.gens.set(s, (this.gens.get(s) ?? 0) + 1);
    return Promise.resolve();
  }

  /** Forgets the entries; generations only ever grow, so an entry stamped earlier stays stale. */
  clear(): Promise<void> {
    this.entries.clear();
    return Promise.resolve();
  }
}

/**
 * Shared through Redis: entries as JSON with a TTL, generations as counters, so a write on one
 * instance invalidates what every instance cached. The keys carry REDIS_KEY_PREFIX.
 */
export class RedisResponseCacheStore implements ResponseCacheStore {
  constructor(private readonly redis: RedisConnection) {}

  private get client() {
    return this.redis.client!;
  }

  async get(key: string): Promise<CachedEntry | undefined> {
    const raw = await this.client.get(`cache:${key}`);
    return raw ? (JSON.parse(raw) as CachedEntry) : undefined;
  }

  async set(key: string, entry: CachedEntry, ttlMs: number): Promise<void> {
    await this.client.set(`cache:${key}`, JSON.stringify(entry), 'PX', ttlMs);
  }

  async generations(symbols: readonly string[]): Promise<number[]> {
    if (symbols.length === 0) return [];
    const values = await this.client.mget(...symbols.map((s) => `gen:${s}`));
    return values.map((v) => Number(v ?? 0));
  }

  async bump(symbols: readonly string[]): Promise<void> {
    const pipeline = this.client.multi();
    for (const s of symbols) pipeline.incr(`gen:${s}`);
    await pipeline.exec();
  }

  async clear(): Promise<void> {
    const prefix = this.client.options.keyPrefix ?? '';
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(
        cursor,
        'MATCH',
        `${prefix}cache:*`,
        'COUNT',
        500,
      );
      cursor = next;
      if (keys.length) await this.client.del(...keys.map((k) => k.slice(prefix.length)));
    } while (cursor !== '0');
  }
}
