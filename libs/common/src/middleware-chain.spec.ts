import { chainMiddleware, Middleware, NextFn } from './middleware-chain';

type Log = string[];
const mark =
  (name: string): Middleware<Log, unknown> =>
  (log, _res, next) => {
    log.push(name);
    next();
  };

describe('chainMiddleware', () => {
  it('runs the middlewares in order, then the next layer', () => {
    const log: Log = [];
    const next = jest.fn<void, Parameters<NextFn>>();
    chainMiddleware(mark('a'), mark('b'), mark('c'))(log, {}, next);
    expect(log).toEqual(['a', 'b', 'c']);
    expect(next).toHaveBeenCalledWith(undefined);
  });

  it('leaves with the error given to next, a thrown one or a rejected promise', async () => {
    const boom = new Error('boom');
    for (const failing of [
      ((_l, _r, next) => next(boom)) as Middleware<Log, unknown>,
      () => {
        throw boom;
      },
      () => Promise.reject(boom),
    ]) {
      const log: Log = [];
      const next = jest.fn<void, Parameters<NextFn>>();
      chainMiddleware(mark('a'), failing, mark('c'))(log, {}, next);
      await Promise.resolve();
      expect(log).toEqual(['a']);
      expect(next).toHaveBeenCalledTimes(1);
      expect(next).toHaveBeenCalledWith(boom);
    }
  });

  it('waits for a middleware that calls next later, and stops where one answers', async () => {
    const log: Log = [];
    const next = jest.fn<void, Parameters<NextFn>>();
    const later: Middleware<Log, unknown> = (l, _r, n) =>
      void setImmediate(() => (l.push('later'), n()));
    chainMiddleware(later, mark('b'))(log, {}, next);
    expect(log).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['later', 'b']);
    expect(next).toHaveBeenCalledTimes(1);

    const answered = jest.fn<void, Parameters<NextFn>>();
    chainMiddleware<Log, unknown>(() => undefined, mark('never'))([], {}, answered);
    expect(answered).not.toHaveBeenCalled();
  });
});
