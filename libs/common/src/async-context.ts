import { AsyncResource } from 'node:async_hooks';

/**
 * `fn`, bound to the async context current now: called later from anywhere (another request's
 * end, a driver's socket, a timer), it runs with this context's AsyncLocalStorage stores (the
 * request's log store, OpenTelemetry's context), as `AsyncResource.bind(fn)` would run it, and
 * with the `this` it is called with.
 *
 * Not `AsyncResource.bind` itself: in Node 20 that also defines a deprecated `asyncResource`
 * accessor pair (DEP0172) on every function it returns, each accessor wrapped by `util.deprecate`,
 * which makes the fresh getter and setter the prototypes of their wrappers
 * (`Object.setPrototypeOf`). Measured: ~7 µs a call against ~0.07 µs here, and, through the
 * prototype churn, more than the call itself across the rest of the process: one or two such
 * calls per request took the read path from ~600-740 to ~490-580 µs of CPU per request
 * (docs/ARCHITECTURE.md, "Performance budget"; nodejs/node#58218; the property is gone in later
 * Node releases).
 */
export function bindToContext<A extends unknown[], R, T = unknown>(
  fn: (this: T, ...args: A) => R,
  type = fn.name || 'bound-anonymous-fn',
  thisArg?: T,
): (this: T, ...args: A) => R {
  const resource = new AsyncResource(type);
  return function bound(this: T, ...args: A): R {
    return resource.runInAsyncScope(fn, thisArg === undefined ? this : thisArg, ...args);
  };
}

/** Whether `AsyncResource.bind` on this Node still adds the deprecated `asyncResource` property. */
const bindAddsDeprecatedProperty = (): boolean =>
  Object.prototype.hasOwnProperty.call(
    AsyncResource.bind(() => undefined),
    'asyncResource',
  );

/**
 * Makes the static `AsyncResource.bind` of this process `bindToContext` (same context, `this`,
 * arguments and result; no deprecated `asyncResource` property), where Node's own still adds the
 * property. For the libraries that call it per request: Nest binds each step of a route's
 * interceptor chain (`InterceptorsConsumer`, two calls a request with the global timeout
 * interceptor alone). Idempotent; the instance method `asyncResource.bind` is left as it is.
 */
export function installLeanAsyncResourceBind(): void {
  if (!bindAddsDeprecatedProperty()) return;
  // A static that never reads `this` (it makes an AsyncResource and binds with it).
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const node = AsyncResource.bind;
  const lean = function bind<Func extends (...args: never[]) => unknown, ThisArg>(
    fn: Func,
    type?: string,
    thisArg?: ThisArg,
  ): Func {
    return bindToContext(
      fn as unknown as (...args: unknown[]) => unknown,
      type,
      thisArg,
    ) as unknown as Func;
  } as typeof AsyncResource.bind;
  // Node's own, kept where a later caller (a spec) can find it in this process.
  Object.defineProperty(lean, NODE_BIND, { value: node });
  AsyncResource.bind = lean;
}

/** Where the lean bind keeps Node's own (Symbol.for: the same key in every module instance). */
export const NODE_BIND = Symbol.for('historical-data-api.nodeAsyncResourceBind');
