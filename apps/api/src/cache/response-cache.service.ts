import { ThrottledWarning } from '@app/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { ChangedSymbols, DataChanges, RedisConnection } from '@app/database';
import { cacheRequestsTotal } from '@app/observability';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  CachedEntry,
  MemoryResponseCacheStore,
  RedisResponseCacheStore,
  ResponseCacheStore,
} from './response-cache.store';

const hits = cacheRequestsTotal.labels('hit');
const misses = cacheRequestsTotal.labels('miss');

/** Stands for "any symbol": lists without a symbol filter depend on it, every write bumps it. */
export const ANY_SYMBOL = '*';
/** Bumped by writes not limited to known symbols (a delete without symbol): every entry depends on it. */
export const EPOCH = '!';

/**
 * Cached GET responses, invalidated per symbol. Each entry remembers the generation of the symbols
 * it was computed from; a committed write bumps the generations of exactly the symbols it touched
 * (and of "*") before its request answers, so a read after a write never gets the old response.
 * The generations are read *before* the database is queried, so a write racing with a read can
 * only make that read's entry stale-on-arrival, never fresh-looking.
 * While Redis fails, reads go to the database (cache bypassed) and the error is logged.
 */
@Injectable()
export class ResponseCache {
  private readonly store: ResponseCacheStore;
  private readonly outage = new ThrottledWarning(new Logger('ResponseCache'));

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    redis: RedisConnection,
    changes: DataChanges,
  ) {
    this.store = redis.enabled
      ? new RedisResponseCacheStore(redis)
      : new MemoryResponseCacheStore(config.cache.maxBytes);
    if (config.cache.enabled) changes.subscribe((changed) => this.invalidate(changed));
  }

  get enabled(): boolean {
    return this.config.cache.enabled;
  }

  /** The cached entry for `key` if every generation it depends on is unchanged. */
  async lookup(key: string): Promise<CachedEntry | undefined> {
    const entry = await this.safely(() => this.store.get(key));
    if (entry) {
      const current = await this.safely(() => this.store.generations(entry.deps.map(([s]) => s)));
      if (current && current.every((g, i) => g === entry.deps[i][1])) {
        hits.inc();
        return entry;
      }
    }
    misses.inc();
    return undefined;
  }

  /** Generations to stamp a response with, read before the query that computes it. */
  async generations(symbols: readonly string[]): Promise<number[] | undefined> {
    return this.safely(() => this.store.generations(symbols));
  }

  async remember(key: string, entry: CachedEntry): Promise<void> {
    await this.safely(() => this.store.set(key, entry, this.config.cache.ttlMs));
  }

  /** Everything cached is forgotten (tests, operators). */
  async clear(): Promise<void> {
    await this.store.clear();
  }

  private async invalidate(changed: ChangedSymbols): Promise<void> {
    const symbols = changed === 'all' ? [EPOCH, ANY_SYMBOL] : [ANY_SYMBOL, ...changed];
    await this.safely(() => this.store.bump(symbols));
  }

  private async safely<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      this.outage.warn(`response cache bypassed: ${(err as Error).message}`);
      return undefined;
    }
  }
}
