import { IncomingHttpHeaders, request as httpRequest } from 'node:http';

export interface RawAnswer {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
}

/**
 * A slow client over a real socket: POSTs a text/csv upload, sends `first`, and `afterMs` later
 * the `rest` (ending the body) — or, without `rest`, stalls and hangs up after `giveUpMs`.
 */
export function trickledUpload(
  baseUrl: string,
  options: {
    first: string;
    rest?: string;
    afterMs?: number;
    giveUpMs?: number;
    headers?: Record<string, string>;
  },
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${baseUrl}/api/v1/data/upload`,
      { method: 'POST', headers: { 'Content-Type': 'text/csv', ...options.headers } },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.write(options.first);
    if (options.rest !== undefined) {
      setTimeout(() => req.end(options.rest), options.afterMs ?? 500);
    } else {
      const giveUp = setTimeout(() => req.destroy(), options.giveUpMs ?? 4000);
      req.on('close', () => clearTimeout(giveUp));
    }
  });
}
