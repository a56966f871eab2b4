import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long a lingering client may pause before we hang up on it. */
const LINGER_IDLE_MS = 2000;

const lingering = new Set<Socket>();

/**
 * After an early answer (413, 422, 415, 409) the client is usually still sending its body.
 * Closing at once makes the kernel answer the unread bytes with a reset, and clients that only
 * read once they have sent everything (Python's urllib, many scripts) then lose the answer to a
 * broken pipe. So: the answer goes out with `Connection: close`, the server half-closes (FIN),
 * discards what still arrives without parsing it, and hangs up once the client pauses for
 * LINGER_IDLE_MS or has sent `budgetBytes` more. Shutdown cuts lingering sockets at once
 * (cutLingeringSockets).
 */
export function lingerAfterAnswer(req: IncomingMessage, budgetBytes: number): void {
  const socket = req.socket as Socket & { destroySoon?: () => void };
  const res = (req as IncomingMessage & { res?: ServerResponse }).res;
  if (res && !res.headersSent) res.setHeader('Connection', 'close');
  socket.destroySoon = () => {
    if (socket.destroyed) return;
    lingering.add(socket);
    const hangUp = (): void => void socket.destroy();
    const idle = setTimeout(hangUp, LINGER_IDLE_MS).unref();
    let discarded = 0;
    socket.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > budgetBytes) hangUp();
      else idle.refresh();
    });
    socket.once('close', () => {
      clearTimeout(idle);
      lingering.delete(socket);
    });
    socket.end();
    req.resume();
    socket.resume();
  };
}

/** Hangs up on every client still sending after its answer; answers how many there were. */
export function cutLingeringSockets(): number {
  const n = lingering.size;
  for (const socket of lingering) socket.destroy();
  return n;
}

/**
 * `Expect: 100-continue` on the routes given: Node answers `100 Continue` itself before the
 * application sees the request, so a client announcing a body over the limit (or without a valid
 * key) would be told to send it. For these routes the `100 Continue` is left to the handler
 * (continueReading), sent once it has decided to read the body; every other route gets it at once.
 */
export function deferContinue(server: Server, deferred: (req: IncomingMessage) => boolean): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!deferred(req)) res.writeContinue();
    server.emit('request', req, res);
  });
}

const continued = new WeakSet<IncomingMessage>();

/** Asks a client that sent `Expect: 100-continue` for its body (see deferContinue), once. */
export function continueReading(req: IncomingMessage): void {
  const res = (req as IncomingMessage & { res?: ServerResponse }).res;
  if (!/100-continue/i.test(String(req.headers.expect ?? '')) || !res || res.headersSent) return;
  if (continued.has(req)) return;
  continued.add(req);
  res.writeContinue();
}
