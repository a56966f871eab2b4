import { connect, Socket } from 'node:net';
import { ServerProcess } from './support/server-process';

/**
 * A client still sending after its 413 (the server discards what it sends, so that the client
 * can read the answer) must not hold a SIGTERM'd server for the grace period: there is no request
 * in flight, only a connection waiting to be hung up on. The real process, real signal.
 */
describe('server process: SIGTERM with a client still sending after its 413', () => {
  it('cuts the lingering connection at once and exits 0 while the client is still sending', async () => {
    const server = new ServerProcess();
    let socket: Socket | undefined;
    let trickle: NodeJS.Timeout | undefined;
    try {
      await server.start({ UPLOAD_MAX_BYTES: '65536', SHUTDOWN_GRACE_MS: '30000' });
      socket = connect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
      const s = socket;
      s.on('error', () => undefined);
      const chunk = (text: string): boolean =>
        s.write(`${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`);
      s.write(
        'POST /api/v1/data/upload HTTP/1.1\r\nHost: test\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n',
      );
      chunk('symbol,date,open,high,low,close,volume\n');
      chunk('AAA,2024-01-02,10,12,9,11,1000\n'.repeat(2500)); // ~77 KB: over the limit
      // Then keep sending a little, often, for up to 45 s: never idle, far from the discard budget.
      let stillSending = true;
      const stopAt = Date.now() + 45_000;
      trickle = setInterval(() => {
        if (Date.now() > stopAt || s.destroyed) {
          stillSending = false;
          clearInterval(trickle);
          return;
        }
        chunk('AAA,2024-01-03,10,12,9,11,1000\n');
      }, 100);
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        s.on('data', (d: Buffer) => {
          text += d.toString();
          if (text.includes('\r\n\r\n')) resolve(text);
        });
      });
      expect(answer).toMatch(/^HTTP\/1\.1 413/);
      const serverClosed = new Promise<void>((resolve) => s.once('close', () => resolve()));

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      await serverClosed;
      // The server hung up and exited while the client was still sending (it would have waited
      // for the client to stop, or for the grace period, had shutdown not cut the connection).
      expect(stillSending).toBe(true);
      const messages = server.lines.map((l) => String(l.msg));
      expect(messages).toContain('closed 1 connection(s) still sending after their answer');
      expect(messages.some((m) => m.startsWith('grace period over'))).toBe(false);
    } finally {
      clearInterval(trickle);
      socket?.destroy();
      server.kill();
    }
  }, 90_000);
});
