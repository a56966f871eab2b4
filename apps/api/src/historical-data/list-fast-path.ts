import { APP_CONFIG, AppConfig } from '@app/config';
import {
  createValidationPipe,
  Middleware,
  NextFn,
  pathOf,
  ProblemDetailsFilter,
  withReadBudget,
} from '@app/common';
import {
  CanActivate,
  ForbiddenException,
  Inject,
  Injectable,
  ValidationPipe,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { Express, Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ListCacheInterceptor } from '../cache/cache.interceptor';
import { AuthGuard } from '../security/auth.guard';
import { RateLimitGuard } from '../security/rate-limit.guard';
import { ListBarsQueryDto } from './dto/list-bars.query.dto';
import { HistoricalDataController } from './historical-data.controller';

/** The route the fast path answers: `GET /api/v1/data` exactly (anything else goes to Nest). */
export const LIST_PATH = '/api/v1/data';
/** What Express's router sets as `req.route` for it: the metrics and the request log read its path. */
const LIST_ROUTE = { path: LIST_PATH };

/**
 * What Express's res.send does with a Buffer whose Content-Type and ETag are set (as the cache
 * interceptor leaves them), minus its generic steps (type switch, header reads through res.get,
 * status validation): 200 with Content-Length, or 304 without body or entity headers when
 * If-None-Match matches (req.fresh, Express's own check).
 */
function sendBody(req: Request, res: Response, body: Buffer): void {
  if (req.fresh) {
    res.statusCode = 304;
    res.removeHeader('Content-Type');
    res.removeHeader('Content-Length');
    res.removeHeader('Transfer-Encoding');
    res.end();
    return;
  }
  res.statusCode = 200;
  if (!res.hasHeader('Transfer-Encoding')) res.setHeader('Content-Length', body.length);
  res.end(body);
}

/**
 * `GET /api/v1/data` without Express's router and Nest's per-request machinery: taken on the bare
 * node:http request (after the load shedder), given Express's request and response objects as
 * Express's app.handle gives them, then run through the global middlewares Express would run (the
 * same functions, in the same order: metrics, request id and log, identity, security headers,
 * compression, CORS...) and the same components Nest would run for the route, in Nest's order,
 * minus the router walk, the execution-context and rxjs plumbing of guards, interceptors and pipes
 * (see docs/ARCHITECTURE.md, "Performance budget").
 *
 * After the global middlewares, the same instances as Nest: the global guards (rate limit with
 * its headers, then auth), the list cache interceptor's `respond` (negotiation, cache
 * hit/ETag/304, or the handler serialised once and kept), the global validation pipe,
 * `HistoricalDataController.list`, the read's time budget, and the global problem+json filter for
 * any error. READ_FAST_PATH=false sends the route through Express and Nest instead;
 * test/e2e/read-fast-path.e2e-spec.ts holds both paths to the same answers.
 */
@Injectable()
export class ListFastPath {
  private readonly guards: CanActivate[];
  private readonly pipe: ValidationPipe = createValidationPipe();
  private readonly filter = new ProblemDetailsFilter();
  // Only the key the guards read the route's metadata by (as Nest's context holds it), never called.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  private readonly handler = HistoricalDataController.prototype.list;
  private controller?: HistoricalDataController;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    rateLimit: RateLimitGuard,
    auth: AuthGuard,
    private readonly cache: ListCacheInterceptor,
    private readonly moduleRef: ModuleRef,
  ) {
    // The order SecurityModule registers them as global guards.
    this.guards = [rateLimit, auth];
  }

  /**
   * Whether the fast path answers this request: `GET /api/v1/data` exactly (the path as sent, no
   * trailing slash or other case), the fast path on. Everything else goes to Express.
   */
  claims(req: IncomingMessage): boolean {
    if (!this.config.http.readFastPath || req.method !== 'GET') return false;
    return pathOf(req.url ?? '') === LIST_PATH;
  }

  /**
   * Answers a claimed request: what Express's app.handle and router do for it first (the
   * request and response get `app`'s prototypes, each other, locals, the URL bookkeeping), the
   * global middlewares (`globals`, the functions Express runs for every path), then serve().
   */
  answer(
    app: Express,
    globals: Middleware<Request, Response>,
    rawReq: IncomingMessage,
    rawRes: ServerResponse,
  ): void {
    const req = Object.setPrototypeOf(rawReq, app.request) as Request;
    const res = Object.setPrototypeOf(rawRes, app.response) as Response;
    req.res = res;
    res.req = req;
    res.locals = Object.create(null) as Response['locals'];
    req.originalUrl = req.url;
    req.baseUrl = '';
    const next: NextFn = (err) => {
      // What reaches Nest's error handler when a middleware fails reaches the same filter here.
      if (err) this.filter.catch(err, new ExecutionContextHost([req, res, next]));
    };
    globals(req, res, (err) => {
      if (err) return next(err);
      req.route = LIST_ROUTE;
      req.params = {};
      // Express 5's req.query is a getter that parses the query string on every read; the cache
      // key, its dependencies and the pipe read it in turn. Parsed once, kept on the request.
      Object.defineProperty(req, 'query', {
        value: req.query,
        writable: true,
        enumerable: true,
        configurable: true,
      });
      void this.serve(req, res, next);
    });
  }

  private async serve(req: Request, res: Response, next: NextFn): Promise<void> {
    const context = new ExecutionContextHost(
      [req, res, next],
      HistoricalDataController,
      this.handler,
    );
    try {
      for (const guard of this.guards) {
        // What Nest does when a guard says no (ours throw their own problem instead).
        if (!(await guard.canActivate(context))) throw new ForbiddenException('Forbidden resource');
      }
      const controller = (this.controller ??= this.moduleRef.get(HistoricalDataController, {
        strict: false,
      }));
      const body = await withReadBudget(
        req,
        this.config.http.requestTimeoutMs,
        this.cache.respond(req, res, async () => {
          const query = (await this.pipe.transform(req.query, {
            type: 'query',
            metatype: ListBarsQueryDto,
          })) as ListBarsQueryDto;
          return controller.list(query);
        }),
      );
      sendBody(req, res, body);
    } catch (err) {
      this.filter.catch(err, context);
    }
  }
}
