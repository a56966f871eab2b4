import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { catchError, from, mergeMap, Observable, of } from 'rxjs';
import { canonicalQuery } from '@app/common';
import { fingerprint, IdempotencyService } from './idempotency.service';

/**
 * Idempotency-Key for JSON writes (POST /api/v1/data): the fingerprint is the method, path,
 * query and the parsed body, so it is known before the work starts.
 */
@Injectable()
export class JsonIdempotencyInterceptor implements NestInterceptor {
  constructor(private readonly idempotency: IdempotencyService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const key = this.idempotency.keyOf(req);
    if (key === undefined) return next.handle();
    const print = fingerprint(req.method, req.path, canonicalQuery(req), JSON.stringify(req.body));
    return from(this.idempotency.begin(req, key, print)).pipe(
      mergeMap((begun) => {
        if (begun.kind === 'completed') return of(this.idempotency.replay(res, begun.response));
        return next.handle().pipe(
          mergeMap(async (body: unknown) => {
            await this.idempotency.complete(req, key, print, res, body);
            return body;
          }),
          catchError(async (err: unknown) => {
            await this.idempotency.release(req, key);
            throw err;
          }),
        );
      }),
    );
  }
}
