import { RedisConnection } from '@app/database';
import { LRUCache } from 'lru-cache';

/** A cached response, serialised once, and the data generations it was computed from. */
export interface CachedEntry {
  /** The body exactly as sent (its bytes). */
  body: Buffer;
  /** Its ETag, computed once when the entry was made. */
  etag: string;
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

/** Bytes an entry is charged: its key, its body and a fixed overhead for the rest. */
const entrySize = (entry: CachedEntry, key: string): number =>
  key.length + entry.body.length + entry.etag.length + 64;

/**
 * "Seen once before?" for keys, in bounded memory: 32-bit hashes in a set that starts over when
 * full (TinyLFU's doorkeeper). A collision only admits an entry early.
 */
export class Doorkeeper {
  private seen = new Set<number>();

  constructor(private readonly capacity: number) {}

  /** True when `key` was offered before (since the last reset); remembers it either way. */
  offer(key: string): boolean {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    if (this.seen.has(h)) return true;
    if (this.seen.size >= this.capacity) this.seen = new Set<number>();
    this.seen.add(h);
    return false;
  }
}

/**
 * In-process: an LRU bounded by the size of what it holds (CACHE_MAX_BYTES), plus a generation
 * counter per symbol. Per instance: replicas need Redis to share invalidations.
 *
 * Admission: while there is room every response is kept; once the LRU is full, a response is only
 * kept if its key was asked for once before. Random one-off reads (a scan over many symbols and
 * windows) then cannot evict the entries that are read again and again.
 */
export class MemoryResponseCacheStore implements ResponseCacheStore {
  private readonly entries: LRUCache<string, CachedEntry>;
  private readonly gens = new Map<string, number>();
  private readonly doorkeeper = new Doorkeeper(100_000);

  constructor(private readonly maxBytes: number) {
    this.entries = new LRUCache<string, CachedEntry>({
      maxSize: maxBytes,
      sizeCalculation: entrySize,
    });
  }

  get(key: string): Promise<CachedEntry | undefined> {
    return Promise.resolve(this.entries.get(key));
  }

  set(key: string, entry: CachedEntry, ttlMs: number): Promise<void> {
    const full = this.entries.calculatedSize + entrySize(entry, key) > this.maxBytes;
    if (!full || this.doorkeeper.offer(key)) this.entries.set(key, entry, { ttl: ttlMs });
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
 * instance invalidates what every instance cached. The keys carry REDIS_KEY_PREFIX. Eviction is
 * Redis's own (maxmemory-policy).
 */
export class RedisResponseCacheStore implements ResponseCacheStore {
  constructor(private readonly redis: RedisConnection) {}

  private get client() {
    return this.redis.client!;
  }

  async get(key: string): Promise<CachedEntry | undefined> {
    const raw = await this.client.get(`cache:${key}`);
    if (!raw) return undefined;
    const entry = JSON.parse(raw) as { body?: unknown; etag?: unknown; deps: [string, number][] };
    // Entries written by an older version held the body as an object: treat them as misses.
    return typeof entry.body === 'string' && typeof entry.etag === 'string'
      ? { body: Buffer.from(entry.body, 'utf8'), etag: entry.etag, deps: entry.deps }
      : undefined;
  }

  async set(key: string, entry: CachedEntry, ttlMs: number): Promise<void> {
    // The body kept as text in the JSON, as before: entries stay readable across versions.
    const stored = { ...entry, body: entry.body.toString('utf8') };
    await this.client.set(`cache:${key}`, JSON.stringify(stored), 'PX', ttlMs);
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
