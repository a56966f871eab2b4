import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  UseInterceptors,
  applyDecorators,
} from '@nestjs/common';
import { AppError, canonicalQuery } from '@app/common';
import type { Request, Response } from 'express';
import { from, lastValueFrom, Observable } from 'rxjs';
import { ANY_SYMBOL, EPOCH, ResponseCache } from './response-cache.service';
import type { CachedEntry } from './response-cache.store';
import { parseSymbolList } from '../historical-data/dto/symbols.param';
import { barPageCsv } from '../historical-data/bar.csv';
import type { BarPage } from '../historical-data/historical-data.service';

/** The cache key of a GET: its path and its query parameters in a stable order. */
export function cacheKey(req: Request): string {
  return `${req.path}?${canonicalQuery(req)}`;
}

type EtagFn = (body: Buffer) => string | undefined;

/** How a response body is written, and the cache-key suffix that keeps it apart from others. */
export interface Representation {
  contentType: string;
  /** Appended to the cache key: a body cached as one representation is never sent as another. */
  keySuffix: string;
  write(body: unknown): string;
}

export const JSON_REPRESENTATION: Representation = {
  contentType: 'application/json; charset=utf-8',
  keySuffix: '',
  // JSON.stringify itself: a page of bars written by hand (template strings) came out slower and,
  // every number turned into a string on the heap, left ~10x the garbage (docs/ARCHITECTURE.md,
  // "Performance budget").
  write: (body) => JSON.stringify(body),
};

const CSV_REPRESENTATION: Representation = {
  contentType: 'text/csv; charset=utf-8',
  keySuffix: '#csv',
  write: (body) => barPageCsv(body as BarPage),
};

/**
 * GET /api/v1/data's content negotiation: JSON (the default), or the page as CSV; anything else
 * is a 406. The usual headers (none, any type, exactly JSON) are decided without parsing Accept.
 */
export function negotiateBarPage(req: Request): Representation {
  const accept = req.headers.accept;
  if (accept === undefined || accept === '*/*' || accept === 'application/json') {
    return JSON_REPRESENTATION;
  }
  const type = req.accepts(['application/json', 'text/csv']);
  if (type === 'application/json') return JSON_REPRESENTATION;
  if (type === 'text/csv') return CSV_REPRESENTATION;
  throw new AppError(
    'NOT_ACCEPTABLE',
    `${req.path} answers application/json or text/csv; Accept: ${accept} allows neither.`,
  );
}

/**
 * A handler's result serialised once to the bytes sent, with its ETag computed once from them
 * (Express's own format): the one copy of the body from text to a Buffer. Express's etag function
 * and res.send would each make one more from a string.
 */
export function serialise(
  req: Request,
  body: unknown,
  representation = JSON_REPRESENTATION,
): { body: Buffer; etag: string } {
  const bytes = Buffer.from(representation.write(body), 'utf8');
  const etagOf = req.app.get('etag fn') as EtagFn | undefined;
  return { body: bytes, etag: etagOf?.(bytes) ?? '' };
}

/**
 * Hands a serialised body to Express: with Content-Type and ETag already set, res.send neither
 * serialises, copies nor hashes it again, and still answers 304 to a matching If-None-Match.
 */
function send(
  res: Response,
  entry: { body: Buffer; etag: string },
  representation = JSON_REPRESENTATION,
): Buffer {
  res.setHeader('Content-Type', representation.contentType);
  if (entry.etag) res.setHeader('ETag', entry.etag);
  return entry.body;
}

/**
 * Read-through caching of a GET: a hit answers without the handler; on a miss the generations the
 * response depends on are read before the handler queries, and the response is kept stamped with
 * them (see ResponseCache). Hit or miss, the body is serialised and hashed once: the cache keeps
 * the bytes it sends. Subclasses say which generations a response depends on.
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

  /** How this route's body is written for this request (JSON unless a route negotiates). */
  protected representation(_req: Request, _res: Response): Representation {
    return JSON_REPRESENTATION;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    // Nest's Express adapter sends strings (a Buffer would go out as JSON of its bytes).
    return from(
      this.respond(http.getRequest<Request>(), http.getResponse<Response>(), () =>
        lastValueFrom(next.handle()),
      ).then((bytes) => bytes.toString('utf8')),
    );
  }

  /**
   * The body to send for this request, its headers (Content-Type, ETag, Vary) set on `res`: from
   * the cache, or from `produce` (the route handler), serialised once and kept. Nest's interceptor
   * and the read fast path (ListFastPath, which sends the Buffer as it is) both answer through here.
   */
  async respond(req: Request, res: Response, produce: () => Promise<unknown>): Promise<Buffer> {
    const as = this.representation(req, res);
    if (!this.cache.enabled) return send(res, serialise(req, await produce(), as), as);
    const key = cacheKey(req) + as.keySuffix;
    const found = await this.read(key, req);
    if (found.entry) return send(res, found.entry, as);
    const body = await produce();
    const entry = serialise(req, body, as);
    const deps = found.before && (await this.stamp(body, found.symbols, found.before));
    if (deps) await this.cache.remember(key, { ...entry, deps });
    return send(res, entry, as);
  }

  private async read(
    key: string,
    req: Request,
  ): Promise<{ entry?: CachedEntry; symbols: string[]; before?: number[] }> {
    const entry = await this.cache.lookup(key);
    if (entry) return { entry, symbols: [] };
    const symbols = this.dependsOn(req);
    return { symbols, before: await this.cache.generations(symbols) };
  }
}

/** GET /api/v1/data: the response depends on the symbol(s) filtered on, or on every symbol. */
@Injectable()
export class ListCacheInterceptor extends CacheInterceptor {
  protected override representation(req: Request, res: Response): Representation {
    // Shared caches must not hand a CSV body to a JSON client or the other way round.
    res.vary('Accept');
    return negotiateBarPage(req);
  }

  protected dependsOn(req: Request): string[] {
    const raw = req.query.symbol;
    if (typeof raw === 'string' && raw.trim()) return [EPOCH, raw.trim().toUpperCase()];
    const symbols = parseSymbolList(req.query.symbols);
    return symbols ? [EPOCH, ...symbols] : [EPOCH, ANY_SYMBOL];
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

/** More symbols than this in one request: depend on "*" instead of on each (never valid anyway). */
const MAX_DEPENDENCIES = 100;

/**
 * The symbol catalogue and aggregates: the response depends on the symbols named in the path
 * (`:symbol`) or the query (`symbol`, `symbols=A,B`), or on every symbol when none is named
 * (GET /api/v1/symbols). Read from the raw request: this runs before the query is validated.
 */
@Injectable()
export class SymbolsCacheInterceptor extends CacheInterceptor {
  protected dependsOn(req: Request): string[] {
    const params = req.params as Record<string, string | undefined>;
    const { symbol, symbols } = req.query;
    const raw = params.symbol ?? (typeof symbol === 'string' ? symbol : symbols);
    const named = typeof raw === 'string' ? raw.split(',').map((s) => s.trim().toUpperCase()) : [];
    const distinct = [...new Set(named.filter((s) => s !== ''))];
    return distinct.length === 0 || distinct.length > MAX_DEPENDENCIES
      ? [EPOCH, ANY_SYMBOL]
      : [EPOCH, ...distinct];
  }

  protected stamp(_body: unknown, symbols: string[], before: number[]) {
    return Promise.resolve(symbols.map((s, i): [string, number] => [s, before[i]]));
  }
}

export const CachedList = () => applyDecorators(UseInterceptors(ListCacheInterceptor));
export const CachedItem = () => applyDecorators(UseInterceptors(ItemCacheInterceptor));
export const CachedBySymbols = () => applyDecorators(UseInterceptors(SymbolsCacheInterceptor));
