import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  UseInterceptors,
  applyDecorators,
} from '@nestjs/common';
import { canonicalQuery } from '@app/common';
import type { Request } from 'express';
import { defer, mergeAll, mergeMap, Observable, of } from 'rxjs';
import { ANY_SYMBOL, EPOCH, ResponseCache } from './response-cache.service';

/** The cache key of a GET: its path and its query parameters in a stable order. */
export function cacheKey(req: Request): string {
  return `${req.path}?${canonicalQuery(req)}`;
}

/**
 * Read-through caching of a GET: a hit answers without the handler; on a miss the generations the
 * response depends on are read before the handler queries, and the response is kept stamped with
 * them (see ResponseCache). Subclasses say which generations those are.
 */
@Injectable()
abstract class CacheInterceptor implements NestInterceptor {
  constructor(protected readonly cache: ResponseCache) {}

  /** The symbols whose generations are read before the query. */
  protected abstract dependsOn(req: Request): string[];

  /**
   * The [symbol, generation] pairs to keep the response under, from the symbols and generations
   * read before the query; undefined = do not keep it.
   */
  protected abstract stamp(
    body: unknown,
    symbols: string[],
    before: number[],
  ): Promise<[string, number][] | undefined>;

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (!this.cache.enabled) return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    const key = cacheKey(req);
    return defer(async () => {
      const cached = await this.cache.lookup(key);
      if (cached !== undefined) return of(cached);
      const symbols = this.dependsOn(req);
      const before = await this.cache.generations(symbols);
      return next.handle().pipe(
        mergeMap(async (body: unknown) => {
          const deps = before && (await this.stamp(body, symbols, before));
          if (deps) await this.cache.remember(key, body, deps);
          return body;
        }),
      );
    }).pipe(mergeAll());
  }
}

/** GET /api/v1/data: the response depends on the symbol filtered on, or on every symbol. */
@Injectable()
export class ListCacheInterceptor extends CacheInterceptor {
  protected dependsOn(req: Request): string[] {
    const raw = req.query.symbol;
    const symbol = typeof raw === 'string' && raw.trim() ? raw.trim().toUpperCase() : ANY_SYMBOL;
    return [EPOCH, symbol];
  }

  protected stamp(_body: unknown, symbols: string[], before: number[]) {
    return Promise.resolve(symbols.map((s, i): [string, number] => [s, before[i]]));
  }
}

/**
 * GET /api/v1/data/:id: which symbol the bar has is only known after the query, so the entry is
 * kept only if no write at all happened while it was computed (the "*" generation did not move).
 */
@Injectable()
export class ItemCacheInterceptor extends CacheInterceptor {
  protected dependsOn(): string[] {
    return [EPOCH, ANY_SYMBOL];
  }

  protected async stamp(body: unknown, _symbols: string[], before: number[]) {
    const symbol = (body as { symbol?: unknown }).symbol;
    if (typeof symbol !== 'string') return undefined;
    const now = await this.cache.generations([EPOCH, ANY_SYMBOL, symbol]);
    if (!now || now[0] !== before[0] || now[1] !== before[1]) return undefined;
    return [
      [EPOCH, now[0]],
      [symbol, now[2]],
    ] as [string, number][];
  }
}

export const CachedList = () => applyDecorators(UseInterceptors(ListCacheInterceptor));
export const CachedItem = () => applyDecorators(UseInterceptors(ItemCacheInterceptor));
