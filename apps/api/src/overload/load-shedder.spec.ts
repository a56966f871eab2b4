import { problemTypeFor } from '@app/common';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, request, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoadShedder, requestsWaiting } from './load-shedder';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

function send(server: Server, path: string): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { port, host: '127.0.0.1', path, agent: false, headers: { Connection: 'keep-alive' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: text,
            ms: performance.now() - t0,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (a loaded machine may be slow) until `ready()` holds. */
async function until(ready: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !ready(); i++) await tick();
  expect(ready()).toBe(true);
}

describe('LoadShedder in front of the app', () => {
  let server: Server;
  /** Requests the app received and holds until the test answers them. */
  let held: { url: string; res: ServerResponse; context?: string }[];
  /** Stands for OpenTelemetry's context (see the async-context test). */
  const als = new AsyncLocalStorage<string>();
  let shedder: LoadShedder;

  async function start(limits: { maxInFlight: number; maxQueueWaitMs: number }): Promise<void> {
    held = [];
    server = createServer((req, res) => {
      if (req.url!.startsWith('/health') || req.url === '/metrics') res.end('probe');
      else held.push({ url: req.url!, res, context: als.getStore() });
    });
    shedder = new LoadShedder({ ...limits, maxEventLoopLagMs: 0, acceptHandles: 1 });
    shedder.guard(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  }

  const answer = (i: number): void => {
    held[i].res.end(`served ${held[i].url}`);
  };

  afterEach(async () => {
    held.forEach((h) => h.res.end());
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('passes requests to the app up to the bound', async () => {
    await start({ maxInFlight: 2, maxQueueWaitMs: 0 });
    const a = send(server, '/a');
    const b = send(server, '/b');
    await until(() => held.length === 2);
    expect(held.map((h) => h.url).sort()).toEqual(['/a', '/b']);
    answer(0);
    answer(1);
    expect(await a).toMatchObject({ status: 200, body: 'served /a' });
    expect(await b).toMatchObject({ status: 200, body: 'served /b' });
  });

  it('with no queue (wait 0): past the bound 503 OVERLOADED at once, the body JSON.stringify would write, connection closed, the app never reached', async () => {
    await start({ maxInFlight: 1, maxQueueWaitMs: 0 });
    send(server, '/a').catch(() => undefined);
    await until(() => held.length === 1);
    const res = await send(server, '/api/v1/data?symbol=A&token=secret-000');
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.headers['retry-after']).toBe('1');
    // Closed, so that a client ignoring Retry-After pays a reconnection for each retry.
    expect(res.headers.connection).toBe('close');
    const requestId = res.headers['x-request-id'] as string;
    expect(res.body).toBe(
      JSON.stringify({
        type: problemTypeFor('OVERLOADED'),
        title: 'Server overloaded',
        status: 503,
        detail: 'The server is serving more than 1 requests; retry in a second.',
        instance: '/api/v1/data?symbol=A&token=REDACTED',
        code: 'OVERLOADED',
        requestId,
      }),
    );
    expect(held.map((h) => h.url)).toEqual(['/a']);
  });

  it('past the bound a request waits, doing nothing, and is served in arrival order when a place frees', async () => {
    await start({ maxInFlight: 1, maxQueueWaitMs: 5000 });
    const a = send(server, '/a');
    await until(() => held.length === 1);
    const b = send(server, '/b');
    await until(() => shedder.queued === 1);
    const c = send(server, '/c');
    await until(() => shedder.queued === 2);
    expect(held.map((h) => h.url)).toEqual(['/a']);
    expect([shedder.serving, shedder.queued, requestsWaiting()]).toEqual([1, 2, 2]);
    answer(0);
    expect(await a).toMatchObject({ status: 200 });
    await until(() => held.length === 2);
    expect(held.map((h) => h.url)).toEqual(['/a', '/b']);
    answer(1);
    expect(await b).toMatchObject({ status: 200, body: 'served /b' });
    await until(() => held.length === 3);
    answer(2);
    expect(await c).toMatchObject({ status: 200, body: 'served /c' });
    expect([shedder.serving, shedder.queued, requestsWaiting()]).toEqual([0, 0, 0]);
  });

  it('a request that waited is served in its own async context, not in the one that freed its place', async () => {
    // What OpenTelemetry's HTTP instrumentation does: the request event inside the request's
    // context (its span, or "tracing suppressed" when unsampled). The context must survive the
    // wait: else a queued request's spans and log lines take another request's trace.
    await start({ maxInFlight: 1, maxQueueWaitMs: 5000 });
    const emit = server.emit.bind(server) as (event: string, ...args: unknown[]) => boolean;
    server.emit = ((event: string, ...args: unknown[]) =>
      event === 'request'
        ? als.run(`context of ${(args[0] as { url: string }).url}`, () => emit(event, ...args))
        : emit(event, ...args)) as typeof server.emit;
    const a = send(server, '/a');
    await until(() => held.length === 1);
    const b = send(server, '/b');
    await until(() => shedder.queued === 1);
    als.run('context of the code answering /a', () => answer(0));
    await a;
    await until(() => held.length === 2);
    answer(1);
    await b;
    expect(held.map((h) => h.context)).toEqual(['context of /a', 'context of /b']);
  });

  it('a request that waited its bound gets 503 OVERLOADED then, on a connection kept alive', async () => {
    await start({ maxInFlight: 1, maxQueueWaitMs: 200 });
    send(server, '/a').catch(() => undefined);
    await until(() => held.length === 1);
    const refused = await send(server, '/b');
    expect(refused.status).toBe(503);
    expect(refused.ms).toBeGreaterThanOrEqual(190);
    expect(refused.ms).toBeLessThan(1000);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers.connection).toBe('keep-alive');
    expect(JSON.parse(refused.body)).toMatchObject({
      code: 'OVERLOADED',
      detail:
        'The server is serving its maximum of 1 requests and this one waited 200 ms for a place; retry in a second.',
    });
    expect(held.map((h) => h.url)).toEqual(['/a']);
    expect(shedder.queued).toBe(0);
  });

  it('a client that gives up while waiting leaves its place to the next', async () => {
    await start({ maxInFlight: 1, maxQueueWaitMs: 5000 });
    send(server, '/a').catch(() => undefined);
    await until(() => held.length === 1);
    const { port } = server.address() as AddressInfo;
    const quitter = request({ port, host: '127.0.0.1', path: '/quitter', agent: false });
    quitter.on('error', () => undefined);
    quitter.end();
    await until(() => shedder.queued === 1);
    const next = send(server, '/next');
    await until(() => shedder.queued === 2);
    quitter.destroy();
    await tick(100);
    answer(0);
    await until(() => held.length === 2);
    expect(held.map((h) => h.url)).toEqual(['/a', '/next']);
    answer(1);
    expect(await next).toMatchObject({ status: 200 });
  });

  it('never holds or refuses probes or scrapes', async () => {
    await start({ maxInFlight: 1, maxQueueWaitMs: 5000 });
    send(server, '/a').catch(() => undefined);
    await until(() => held.length === 1);
    for (const path of ['/health', '/health/ready', '/metrics', '/health?x=1']) {
      expect(await send(server, path)).toMatchObject({ status: 200, body: 'probe' });
    }
  });
});
