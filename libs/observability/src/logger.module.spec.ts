import { spawnSync } from 'node:child_process';
import { createServer, request, Server } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { PinoLogger } from 'nestjs-pino';
import { storage } from 'nestjs-pino/storage';
import { LOG_FLUSH_MS, pinoOptions, requestLogMiddleware } from './logger.module';
import { httpMetricsMiddleware } from './metrics';
import { logLines } from '../../../test/e2e/support/log-lines';

type Handler = Parameters<typeof createServer>[1] & object;

/** A node:http server running `chain` then `handler`, and the lines its logger wrote. */
async function serve(
  chain: ((req: never, res: never, next: () => void) => void)[],
  handler: Handler,
): Promise<{ server: Server; port: number; lines: Record<string, unknown>[]; root: pino.Logger }> {
  const { lines, destination } = logLines();
  const root = pino(pinoOptions({ level: 'info', pretty: false }, { destination }), destination);
  const middlewares = [...chain, requestLogMiddleware(root)];
  const server = createServer((req, res) => {
    const run = (i: number): void => {
      if (i === middlewares.length) return void handler(req, res);
      (middlewares[i] as (req: unknown, res: unknown, next: () => void) => void)(req, res, () =>
        run(i + 1),
      );
    };
    run(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, lines, root };
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ port, path, headers, host: '127.0.0.1' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('requestLogMiddleware', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('writes the completion line pino-http wrote, from the metrics hook, with no credential in it', async () => {
    const s = await serve([httpMetricsMiddleware as never], (_req, res) => {
      res.statusCode = 200;
      res.end('ok');
    });
    servers.push(s.server);
    const child = jest.spyOn(s.root, 'child');
    // The completion line skips pino's redaction pass: no credential may reach it by its fields.
    await get(s.port, '/api/v1/data?symbol=A&api_key=sekrit', {
      'X-Request-Id': 'r-1',
      Authorization: 'Bearer sekrit-bearer',
      'X-API-Key': 'sekrit-header',
      Cookie: 'sid=sekrit-cookie',
    });
    await settle();
    expect(s.lines).toHaveLength(1);
    expect(s.lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      requestId: 'r-1',
      req: { method: 'GET', url: '/api/v1/data?symbol=A&api_key=REDACTED' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
      method: 'GET',
      status: 200,
      duration_ms: expect.any(Number),
    });
    expect(JSON.stringify(s.lines)).not.toContain('sekrit');
    // Nothing logged while serving it: no child logger was made.
    expect(child).not.toHaveBeenCalled();
  });

  it('binds req and requestId to what is logged inside the request, made on first use', async () => {
    const s = await serve([], (_req, res) => {
      new PinoLogger({ pinoHttp: {} }).logger.info('inside');
      storage.getStore()!.logger.warn('again');
      res.statusCode = 503;
      res.end();
    });
    servers.push(s.server);
    const child = jest.spyOn(s.root, 'child');
    await get(s.port, '/x', { 'X-Request-Id': 'r-2' });
    await settle();
    expect(child).toHaveBeenCalledTimes(1);
    const inside = s.lines.filter((l) => l.msg === 'inside' || l.msg === 'again');
    expect(inside).toHaveLength(2);
    for (const line of inside) {
      expect(line).toMatchObject({ requestId: 'r-2', req: { method: 'GET', url: '/x' } });
    }
    // A 5xx is "request errored" with the error pino-http made, at info, without metrics hook.
    expect(s.lines.filter((l) => String(l.msg).startsWith('request '))).toEqual([
      expect.objectContaining({
        level: 30,
        msg: 'request errored',
        requestId: 'r-2',
        status: 503,
        err: expect.objectContaining({ message: 'failed with status code 503' }),
      }),
    ]);
  });
});

describe('bufferedStdout', () => {
  // A process of its own per case (what happens at exit is the point); the module as built by
  // the jest global setup.
  const built = join(__dirname, '../../../dist/libs/observability/src/logger.module.js');
  const run = (end: string): { status: number | null; lines: unknown[] } => {
    const script =
      `const pino = require('pino'); const { bufferedStdout } = require(${JSON.stringify(built)});` +
      `const log = pino(bufferedStdout()); for (let i = 0; i < 3; i++) log.info({ i }, 'line'); ${end}`;
    const child = spawnSync(process.execPath, ['-e', script], {
      cwd: join(__dirname, '../../..'),
      encoding: 'utf8',
    });
    const lines = child.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { i: number }).i);
    return { status: child.status, lines };
  };

  it.each([
    ['process.exit', 'process.exit(3)', 3],
    ['an uncaught exception', "setImmediate(() => { throw new Error('boom'); })", 1],
    ['the end of its event loop', '', 0],
  ])('writes the lines it still holds when the process ends by %s', (_how, end, status) => {
    expect(run(end)).toEqual({ status, lines: [0, 1, 2] });
  });

  it(`writes a quiet process's lines within ${LOG_FLUSH_MS} ms, not only at exit`, () => {
    // SIGKILL: no exit handler runs, so what came out was written by the periodic flush.
    const killed = run(
      `setTimeout(() => process.kill(process.pid, 'SIGKILL'), ${LOG_FLUSH_MS * 3});`,
    );
    expect(killed.lines).toEqual([0, 1, 2]);
  });
});
