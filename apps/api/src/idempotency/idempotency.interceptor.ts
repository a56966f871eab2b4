import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { catchError, from, mergeMap, Observable, of } from 'rxjs';
import { canonicalQuery } from '@app/common';
import { fingerprint, IdempotencyService } from './idempotency.service';

/**
 * What identifies a request for Idempotency-Key: known before the handler runs (a parsed JSON
 * body), or only once the handler has read a streamed body (an upload's file).
 */
export interface FingerprintStrategy {
  /** The fingerprint when it is known up front; null when only `afterwards` knows it. */
  upfront(req: Request): string | null;
  /** The fingerprint once the handler has run (and read the body). */
  afterwards(req: Request): string;
  /** A replay whose fingerprint is only known after reading: read this request's body for it. */
  replayed(req: Request): Promise<string>;
  /** The key was refused (409) before the body was read. */
  refused?(req: Request): void;
}

/**
 * The Idempotency-Key protocol (see IdempotencyService), for every write route: claim the key,
 * run the handler, store its response; replay it for the same request, refuse it for another.
 * Routes differ only in how a request is fingerprinted (the strategy).
 */
export abstract class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly idempotency: IdempotencyService,
    private readonly strategy: FingerprintStrategy,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const key = this.idempotency.keyOf(req);
    if (key === undefined) return next.handle();
    const print = this.strategy.upfront(req);
    const begin = this.idempotency.begin(req, key, print).catch((err: unknown) => {
      this.strategy.refused?.(req);
      throw err;
    });
    return from(begin).pipe(
      mergeMap((begun) => {
        if (begun.kind === 'completed') {
          if (print !== null) return of(this.idempotency.replay(res, begun.response));
          return from(this.strategy.replayed(req)).pipe(
            mergeMap((actual) => {
              this.idempotency.check(begun.fingerprint, actual);
              return of(this.idempotency.replay(res, begun.response));
            }),
          );
        }
        return next.handle().pipe(
          mergeMap(async (body: unknown) => {
            await this.idempotency.complete(
              req,
              key,
              print ?? this.strategy.afterwards(req),
              res,
              body,
            );
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

/** JSON writes (POST /api/v1/data): the method, path, query and the parsed body. */
const jsonBody: FingerprintStrategy = {
  upfront: (req) =>
    fingerprint(req.method, req.path, canonicalQuery(req), JSON.stringify(req.body)),
  afterwards: () => {
    throw new Error('a JSON fingerprint is known up front');
  },
  replayed: () => Promise.reject(new Error('a JSON fingerprint is known up front')),
};

@Injectable()
export class JsonIdempotencyInterceptor extends IdempotencyInterceptor {
  constructor(idempotency: IdempotencyService) {
    super(idempotency, jsonBody);
  }
}
