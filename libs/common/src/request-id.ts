import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';

/** A client-supplied id is echoed only when it is short and harmless in logs and headers. */
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Picks the request id: the client's X-Request-Id when it is safe, else a new UUID.
 * Called by the request logger (libs/observability, requestLogMiddleware), so the log line and the
 * response header always agree.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const existing = (req as IncomingMessage & { id?: unknown }).id;
  if (typeof existing === 'string') return existing;
  const header = req.headers[REQUEST_ID_HEADER];
  const candidate = Array.isArray(header) ? header[0] : header;
  const id = candidate && SAFE_ID.test(candidate) ? candidate : randomUUID();
  (req as IncomingMessage & { id?: string }).id = id;
  res.setHeader('X-Request-Id', id);
  return id;
}
