import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { Observable, throwError, timeout } from 'rxjs';
import { AppError } from './app.error';
import { RequestTimedOutError, runWithDeadline } from './request-deadline';

const BUDGET_KEY = 'hd:request-budget';
export type RequestBudget = 'default' | 'upload';

/** Gives a route the longer upload budget (UPLOAD_TIMEOUT_MS) instead of REQUEST_TIMEOUT_MS. */
export const UploadBudget = (): MethodDecorator => SetMetadata(BUDGET_KEY, 'upload');

/** The 503 a request gets when its time budget is spent. */
export function requestTimedOut(req: IncomingMessage, budgetMs: number): AppError {
  return new AppError(
    'REQUEST_TIMEOUT',
    `The request took longer than its ${budgetMs} ms budget; its work was stopped. Retry, or narrow the request.`,
    // A body still arriving is not read any further: the connection closes.
    req.complete ? {} : { headers: { Connection: 'close' } },
  );
}

/**
 * A read's budget outside Nest (the read fast path): `work`'s result, or requestTimedOut once
 * `budgetMs` has passed, as the interceptor's rxjs `timeout` does for reads. Nothing to abort:
 * reads change nothing.
 */
export function withReadBudget<T>(
  req: IncomingMessage,
  budgetMs: number,
  work: Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(requestTimedOut(req, budgetMs)), budgetMs);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * Every request gets a time budget. When it is spent the client gets 503 REQUEST_TIMEOUT
 * (problem+json) at once, and the request's deadline signal is aborted so the work stops where it
 * can stop cleanly: a transaction not yet committed rolls back, an ingest stops before its next
 * batch (see request-deadline.ts).
 */
@Injectable()
export class TimeoutInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly budgets: Record<RequestBudget, number>,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const kind = this.reflector.get<RequestBudget | undefined>(BUDGET_KEY, context.getHandler());
    const budgetMs = this.budgets[kind ?? 'default'];
    const req = context.switchToHttp().getRequest<IncomingMessage>();
    const timedOut = (): AppError => requestTimedOut(req, budgetMs);
    // Reads change nothing, so nothing needs to see their deadline: no signal, no async context
    // (a saving on the hot read path); the client still gets its 503 on time.
    if (req.method === 'GET' || req.method === 'HEAD') {
      return next.handle().pipe(timeout({ first: budgetMs, with: () => throwError(timedOut) }));
    }
    const controller = new AbortController();
    // handle() binds the handler to the async context it is called in: the deadline's.
    const handled = runWithDeadline(controller.signal, () => next.handle());
    return handled.pipe(
      timeout({
        first: budgetMs,
        with: () => {
          controller.abort(new RequestTimedOutError(budgetMs));
          return throwError(timedOut);
        },
      }),
    );
  }
}
