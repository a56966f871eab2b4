import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** A node:http `request` listener. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Puts `front` ahead of the request listeners `server` has now (Express's app, or what an earlier
 * call put there): it gets every request first, with `rest`, the function that hands the request
 * on to those listeners, to call or not. The read fast path and the load shedder stand there.
 */
export function putInFront(
  server: Server,
  front: (req: IncomingMessage, res: ServerResponse, rest: RequestListener) => void,
): void {
  const listeners = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const rest: RequestListener = (req, res) => {
    for (const listener of listeners) listener.call(server, req, res);
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => front(req, res, rest));
}

/** A request target's path: the URL before its query string. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}
