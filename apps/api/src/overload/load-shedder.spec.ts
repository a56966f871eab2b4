import { problemTypeFor } from '@app/common';
import { createServer, request, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoadShedder } from './load-shedder';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(server: Server, path: string, body?: string): Promise<Answer> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        port,
        host: '127.0.0.1',
        path,
        method: body ? 'POST' : 'GET',
        agent: false,
        headers: { Connection: 'keep-alive' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('LoadShedder in front of the app', () => {
  let server: Server;
  let reached: string[];
  let inFlight: jest.Mock<number, []>;

  beforeEach(async () => {
    reached = [];
    server = createServer((req, res) => {
      reached.push(req.url!);
      res.end('served');
    });
    inFlight = jest.fn<number, []>();
    new LoadShedder({ maxInFlight: 4, maxEventLoopLagMs: 0 }, inFlight).guard(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });

  afterEach(async () => {
    await new Promise((r) => server.close(r));
  });

  it('passes requests to the app below the bound', async () => {
    inFlight.mockReturnValue(3);
    expect(await send(server, '/api/v1/data')).toMatchObject({ status: 200, body: 'served' });
    expect(reached).toEqual(['/api/v1/data']);
  });

  it('past the bound: 503 OVERLOADED problem+json, the body JSON.stringify would write, the app never reached', async () => {
    inFlight.mockReturnValue(4);
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
        detail: 'The server is serving more than 4 requests; retry in a second.',
        instance: '/api/v1/data?symbol=A&token=REDACTED',
        code: 'OVERLOADED',
        requestId,
      }),
    );
    expect(reached).toEqual([]);
  });

  it('never refuses probes or scrapes', async () => {
    inFlight.mockReturnValue(100);
    for (const path of ['/health', '/health/ready', '/metrics', '/health?x=1']) {
      expect((await send(server, path)).status).toBe(200);
    }
    expect(reached).toHaveLength(4);
  });
});
