import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { addAcceptHandles } from './accept-handles';

/**
 * Opens `n` connections while the event loop is blocked (the kernel completes them into the
 * accept queue meanwhile), then answers the largest number the server took in one loop turn.
 */
async function burst(server: Server, n: number, clients: Socket[]): Promise<number> {
  const { port } = server.address() as AddressInfo;
  let thisTurn = 0;
  let most = 0;
  let accepted = 0;
  server.on('connection', () => {
    thisTurn++;
    accepted++;
  });
  for (let i = 0; i < n; i++) clients.push(connect(port, '127.0.0.1').on('error', () => undefined));
  const until = performance.now() + 200;
  while (performance.now() < until); // busy: the connections queue up in the kernel
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      most = Math.max(most, thisTurn);
      thisTurn = 0;
      if (accepted >= n) resolve();
      else setImmediate(turn);
    };
    setImmediate(turn);
  });
  return most;
}

describe('addAcceptHandles', () => {
  let server: Server;
  const clients: Socket[] = [];

  beforeEach(async () => {
    server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', 511, r));
  });

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.destroy());
    if (server.listening) await new Promise((r) => server.close(r));
  });

  it('alone, Node takes one queued connection per event-loop turn', async () => {
    const close = await addAcceptHandles(server, 1, 511, fail);
    expect(await burst(server, 24, clients)).toBe(1);
    close();
  });

  it('with 8 handles it takes several per turn, and the server owns them: close() waits for them', async () => {
    const close = await addAcceptHandles(server, 8, 511, fail);
    expect(await burst(server, 24, clients)).toBeGreaterThan(1);
    const count = await new Promise<number>((r, j) =>
      server.getConnections((err, n) => (err ? j(err) : r(n))),
    );
    expect(count).toBe(24);

    const { port } = server.address() as AddressInfo;
    close();
    let closed = false;
    server.close(() => (closed = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(false);
    clients.splice(0).forEach((c) => c.destroy());
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(true);

    // Every copy of the socket is closed: the port can be listened on again.
    const again = createServer();
    await new Promise<void>((resolve, reject) =>
      again.once('error', reject).listen(port, '127.0.0.1', resolve),
    );
    await new Promise((r) => again.close(r));
  });
});

function fail(reason: string): void {
  throw new Error(`helper failed: ${reason}`);
}
