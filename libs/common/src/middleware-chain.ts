/** The continuation Express passes a middleware. */
export type NextFn = (err?: unknown) => void;

/** A connect-style middleware (Express's, node:http's request and response types). */
export type Middleware<Req, Res> = (req: Req, res: Res, next: NextFn) => unknown;

/**
 * Several middlewares as one Express layer. Every `app.use` is a layer the router dispatches to
 * for every request (its path matched, its own `next` made); the global middlewares in front of
 * the routes run the same on every request, so one layer runs them in turn. Express's contract is
 * kept: `next(err)` (any truthy value, 'route' and 'router' included) leaves the chain with it;
 * a synchronous throw, or a returned promise that rejects, leaves it as `next(err)` too.
 */
export function chainMiddleware<Req, Res>(
  ...middlewares: readonly Middleware<Req, Res>[]
): Middleware<Req, Res> {
  return (req, res, next) => {
    let index = 0;
    const step: NextFn = (err) => {
      if (err || index === middlewares.length) {
        index = middlewares.length;
        next(err);
        return;
      }
      const middleware = middlewares[index++];
      try {
        const result = middleware(req, res, step);
        if (result instanceof Promise) {
          result.then(undefined, (reason: unknown) =>
            step(reason ?? new Error('Rejected promise')),
          );
        }
      } catch (thrown) {
        step(thrown);
      }
    };
    step();
  };
}
