import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';

/** How long the helper may take to start and answer before the server runs without it. */
const HELPER_TIMEOUT_MS = 10_000;

/**
 * The child: takes the listening socket and sends it back `count` times. Each message carries the
 * descriptor over the IPC channel (SCM_RIGHTS), so each arrives as a descriptor of its own on the
 * same socket. Raw handles both ways: a net.Server is listened to again on arrival, so the child
 * would accept (and drop) connections, and the default backlog would shrink the socket's accept
 * queue. Then it exits; it also exits when the parent goes
 * first or after HELPER_TIMEOUT_MS, whatever happens: its copy of the socket would hold the port.
 */
const CHILD = `const parent = process.ppid;
setInterval(() => process.ppid !== parent && process.exit(0), 100);
setTimeout(() => process.exit(0), ${HELPER_TIMEOUT_MS});
process.once('message', (count, handle) => {
  let left = count;
  const sent = () => --left === 0 && process.exit(0);
  for (let i = 0; i < count; i++) process.send('handle', handle, sent);
});`;

/** Fields of net.Server and net.Socket (Node 20) the adoption below moves between servers. */
interface Counted {
  _connections: number;
  _emitCloseIfDrained(): void;
}
interface Owned {
  server: Server;
  _server: Server;
}
interface Listening {
  _handle: object;
}

/**
 * Makes `server` (listening, on TCP) accept up to `count` new connections per turn of the event
 * loop instead of one. Node 20's libuv (≥ 1.45, libuv/libuv#3696) accepts one connection per
 * listening handle per turn; a CPU-saturated process turns its loop a few times a second, so a
 * burst of clients waits in the kernel's accept queue, where the process can neither serve nor
 * refuse them. More handles on the same socket accept more per turn. Node 20 has no `reusePort`
 * and no dup(), so a short-lived helper process sends the socket back `count - 1` times; each
 * copy is a net.Server of its own whose connections are handed to `server`, which then owns them
 * as if it had accepted them (server.close() waits for them; 'connection' listeners see them).
 *
 * Resolves with a function closing the extra handles (call it when the server stops listening;
 * the socket stays open while any copy does). Never rejects: without the helper the server keeps
 * its single handle, and `onFailure` says why.
 */
export async function addAcceptHandles(
  server: Server,
  count: number,
  backlog: number,
  onFailure: (reason: string) => void,
): Promise<() => void> {
  const extras: Server[] = [];
  const closeAll = (): void => {
    for (const extra of extras.splice(0)) extra.close();
  };
  if (count <= 1) return closeAll;
  // An empty environment: no NODE_OPTIONS (instrumentation, --require) in a process that runs
  // a few lines and exits.
  const child = spawn(process.execPath, ['-e', CHILD], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: {},
  });
  // Reported through the promise below; a late one (after kill) has nothing left to stop.
  child.on('error', () => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no answer within ${HELPER_TIMEOUT_MS} ms`)),
        HELPER_TIMEOUT_MS,
      );
      child.once('error', reject);
      // The channel is read to its end (every message it sent) before this.
      child.once('disconnect', () =>
        reject(new Error(`helper left after ${extras.length} of ${count - 1} handles`)),
      );
      child.on('message', (_message, handle) => {
        const extra = createServer();
        // The raw handle of a listening socket, listened to again: libuv starts watching it,
        // and the accept queue keeps the server's backlog.
        extra.listen(handle, backlog);
        extra.on('connection', (socket: Socket) => adopt(server, extra, socket));
        extras.push(extra);
        if (extras.length === count - 1) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.send(count - 1, (server as unknown as Listening)._handle as Server);
    });
  } catch (err) {
    closeAll();
    onFailure((err as Error).message);
  } finally {
    child.removeAllListeners('disconnect');
    child.removeAllListeners('message');
    if (child.exitCode === null) child.kill();
  }
  return closeAll;
}

/** Hands a connection `extra` accepted to `server`, counted there as one of its own. */
function adopt(server: Server, extra: Server, socket: Socket): void {
  const from = extra as unknown as Counted;
  const to = server as unknown as Counted;
  const owned = socket as unknown as Owned;
  from._connections--;
  to._connections++;
  owned.server = server;
  owned._server = server;
  server.emit('connection', socket);
}
