import { APP_CONFIG, AppConfig } from '@app/config';
import { createValidationPipe, ProblemDetailsFilter, withReadBudget } from '@app/common';
import {
  CanActivate,
  ForbiddenException,
  Inject,
  Injectable,
  NestMiddleware,
  ValidationPipe,
} from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { NextFunction, Request, Response } from 'express';
import { ListCacheInterceptor } from '../cache/cache.interceptor';
import { AuthGuard } from '../security/auth.guard';
import { RateLimitGuard } from '../security/rate-limit.guard';
import { ListBarsQueryDto } from './dto/list-bars.query.dto';
import { HistoricalDataController } from './historical-data.controller';

/** The route the fast path answers: `GET /api/v1/data` exactly (anything else goes to Nest). */
export const LIST_PATH = '/api/v1/data';

/**
 * `GET /api/v1/data` without Nest's per-request machinery: the same components Nest would run for
 * the route, called in Nest's order, minus the router walk, the execution-context and rxjs
 * plumbing of guards, interceptors and pipes (see docs/ARCHITECTURE.md, "Performance budget").
 *
 * Everything before it is shared with every route (load shedding, metrics, request id, identity,
 * security headers, compression, CORS, the request logger); after it, the same instances as Nest:
 * the global guards (rate limit with its headers, then auth), the list cache interceptor's
 * `respond` (negotiation, cache hit/ETag/304, or the handler serialised once and kept), the
 * global validation pipe, `HistoricalDataController.list`, the read's time budget, and the global
 * problem+json filter for any error. READ_FAST_PATH=false sends the route through Nest instead;
 * test/e2e/read-fast-path.e2e-spec.ts holds both paths to the same answers.
 */
@Injectable()
export class ListFastPath implements NestMiddleware {
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

  use(req: Request, res: Response, next: NextFunction): void {
    if (!this.config.http.readFastPath || req.method !== 'GET' || req.path !== LIST_PATH) {
      return next();
    }
    void this.serve(req, res, next);
  }

  private async serve(req: Request, res: Response, next: NextFunction): Promise<void> {
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
      // As Nest's Express adapter replies with a string body.
      res.status(200).send(body);
    } catch (err) {
      this.filter.catch(err, context);
    }
  }
}
