import { storage } from 'nestjs-pino/storage';

/**
 * The time budget of the request being served, visible to the code doing its work without
 * threading it through every call: the timeout interceptor aborts the signal when the budget is
 * spent, and the places that can stop cleanly (before a transaction commits, between ingest
 * batches) check it. Outside a request there is no deadline.
 *
 * Kept in the request's async context that the request log already opens (nestjs-pino's store,
 * see libs/observability/src/logger.module.ts), not in an AsyncLocalStorage of its own: every
 * enabled AsyncLocalStorage costs each promise and callback of every request a copy of its slot
 * (docs/ARCHITECTURE.md, "Performance budget"). A deadline scope is a store that inherits the
 * request's (its logger) and adds the signal.
 */
interface DeadlineScope {
  deadline?: AbortSignal;
}

/** The current store, extended (by prototype: its logger stays the request's) with `deadline`. */
function scoped(deadline: AbortSignal | undefined): DeadlineScope {
  const current = storage.getStore() as DeadlineScope | undefined;
  const scope = Object.create(current ?? null) as DeadlineScope;
  scope.deadline = deadline;
  return scope;
}

const deadline = (): AbortSignal | undefined =>
  (storage.getStore() as DeadlineScope | undefined)?.deadline;

export class RequestTimedOutError extends Error {
  constructor(readonly budgetMs: number) {
    super(`the request took longer than its ${budgetMs} ms budget and was stopped`);
    this.name = 'RequestTimedOutError';
  }
}

export function runWithDeadline<T>(signal: AbortSignal, work: () => T): T {
  return storage.run(scoped(signal) as never, work);
}

/** Runs `work` outside any request's deadline (background jobs a request starts). */
export function detachedFromRequest<T>(work: () => T): T {
  return deadline() ? storage.run(scoped(undefined) as never, work) : work();
}

/** Throws the deadline's reason when the current request's budget is spent. */
export function throwIfPastDeadline(): void {
  const signal = deadline();
  if (signal?.aborted) throw signal.reason;
}

/**
 * Calls `listener` when the current request's budget is spent (at once if it already is);
 * returns the way to stop listening. Does nothing outside a request.
 */
export function onPastDeadline(listener: (reason: unknown) => void): () => void {
  const signal = deadline();
  if (!signal) return () => undefined;
  if (signal.aborted) {
    listener(signal.reason);
    return () => undefined;
  }
  const handler = (): void => listener(signal.reason);
  signal.addEventListener('abort', handler, { once: true });
  return () => signal.removeEventListener('abort', handler);
}
