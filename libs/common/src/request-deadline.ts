import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The time budget of the request being served, visible to the code doing its work without
 * threading it through every call: the timeout interceptor aborts the signal when the budget is
 * spent, and the places that can stop cleanly (before a transaction commits, between ingest
 * batches) check it. Outside a request there is no deadline.
 */
const storage = new AsyncLocalStorage<AbortSignal>();

export class RequestTimedOutError extends Error {
  constructor(readonly budgetMs: number) {
    super(`the request took longer than its ${budgetMs} ms budget and was stopped`);
    this.name = 'RequestTimedOutError';
  }
}

export function runWithDeadline<T>(signal: AbortSignal, work: () => T): T {
  return storage.run(signal, work);
}

/** Runs `work` outside any request's deadline (background jobs a request starts). */
export function detachedFromRequest<T>(work: () => T): T {
  return storage.exit(work);
}

/** Throws the deadline's reason when the current request's budget is spent. */
export function throwIfPastDeadline(): void {
  const signal = storage.getStore();
  if (signal?.aborted) throw signal.reason;
}

/**
 * Calls `listener` when the current request's budget is spent (at once if it already is);
 * returns the way to stop listening. Does nothing outside a request.
 */
export function onPastDeadline(listener: (reason: unknown) => void): () => void {
  const signal = storage.getStore();
  if (!signal) return () => undefined;
  if (signal.aborted) {
    listener(signal.reason);
    return () => undefined;
  }
  const handler = (): void => listener(signal.reason);
  signal.addEventListener('abort', handler, { once: true });
  return () => signal.removeEventListener('abort', handler);
}
