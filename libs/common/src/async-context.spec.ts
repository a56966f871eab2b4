import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { bindToContext, installLeanAsyncResourceBind, NODE_BIND } from './async-context';

describe('bindToContext', () => {
  const storage = new AsyncLocalStorage<string>();

  it('runs the function in the context it was bound in, wherever it is called from', async () => {
    const seen: (string | undefined)[] = [];
    const bound = storage.run('request A', () =>
      bindToContext((suffix: string) => {
        seen.push(`${storage.getStore()} ${suffix}`);
      }),
    );
    // Called from another request's context, and from none.
    storage.run('request B', () => bound('from B'));
    bound('from nowhere');
    await new Promise<void>((resolve) => setImmediate(() => resolve(bound('later'))));
    expect(seen).toEqual(['request A from B', 'request A from nowhere', 'request A later']);
  });

  it('passes the arguments and returns the result, and lets an exception through', () => {
    const add = storage.run('ctx', () => bindToContext((a: number, b: number) => a + b));
    expect(add(2, 3)).toBe(5);
    const fail = bindToContext(() => {
      throw new Error('boom');
    });
    expect(() => fail()).toThrow('boom');
  });

  it('gives promises created inside the bound function the bound context', async () => {
    const bound = storage.run('outer', () =>
      bindToContext(() => Promise.resolve().then(() => storage.getStore())),
    );
    await expect(storage.run('other', () => bound())).resolves.toBe('outer');
  });
});

describe('installLeanAsyncResourceBind', () => {
  const storage = new AsyncLocalStorage<string>();
  // The process's bind as this spec found it: another spec in this jest worker may have installed
  // the lean one already (the app does, at start).
  const found = AsyncResource.bind;
  const nodeBind =
    (found as unknown as Record<symbol, typeof AsyncResource.bind | undefined>)[NODE_BIND] ?? found;
  beforeEach(() => {
    AsyncResource.bind = nodeBind;
  });
  afterEach(() => {
    AsyncResource.bind = found;
  });

  it("replaces Node 20's static bind (the deprecated property) with one that keeps its contract", () => {
    // Node 20 adds the deprecated accessor; later releases do not (then nothing is replaced).
    expect(Object.keys(nodeBind(() => undefined))).toContain('asyncResource');
    installLeanAsyncResourceBind();
    installLeanAsyncResourceBind();
    expect(AsyncResource.bind).not.toBe(nodeBind);

    const receiver = { name: 'receiver' };
    const seen: unknown[] = [];
    const bound = storage.run('bound here', () =>
      AsyncResource.bind(function (this: unknown, a: number) {
        seen.push([storage.getStore(), this, a]);
        return a * 2;
      }),
    );
    expect(Object.keys(bound)).not.toContain('asyncResource');
    // The caller's `this` passes through; the context is the one bound in.
    expect(storage.run('elsewhere', () => bound.call(receiver, 21))).toBe(42);
    const withThis = storage.run('bound too', () =>
      AsyncResource.bind(
        function (this: unknown) {
          seen.push([storage.getStore(), this]);
        },
        'named',
        receiver,
      ),
    );
    withThis.call({ other: true });
    expect(seen).toEqual([
      ['bound here', receiver, 21],
      ['bound too', receiver],
    ]);
  });
});
