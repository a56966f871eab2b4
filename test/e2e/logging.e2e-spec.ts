import { logLines } from './support/log-lines';
import { TestApp } from './support/test-app';

/**
 * The request log as an operator reads it: one JSON line per request, with the id the client
 * saw, and never a credential or a body.
 */
describe('request logging', () => {
  const { lines, destination } = logLines();
  const t = new TestApp('sqlite');

  beforeAll(async () => {
    await t.start({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, { log: { destination } });
  });
  afterAll(() => t.stop());

  it('writes one line per request with requestId, method, url, status and duration, and no secrets', async () => {
    await t.http
      .post('/api/v1/data')
      .set('X-Request-Id', 'log-test-1')
      .set('Authorization', 'Bearer top-secret-token')
      .set('X-API-Key', 'another-secret')
      .set('Content-Type', 'application/json')
      .send([
        { symbol: 'AAPL', date: '2024-01-02', open: 1, high: 2, low: 1, close: 1.5, volume: 9 },
      ])
      .expect(200);
    await t.http.get('/no-such-route').set('X-Request-Id', 'log-test-2').expect(404);

    const requestLines = lines.filter((l) => l.msg === 'request completed');
    const first = requestLines.find((l) => l.requestId === 'log-test-1');
    expect(first).toMatchObject({
      requestId: 'log-test-1',
      req: { method: 'POST', url: '/api/v1/data' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
      // The flat fields dashboards and log queries use (docs/OPERATIONS.md).
      method: 'POST',
      route: '/api/v1/data',
      status: 200,
      duration_ms: expect.any(Number),
    });
    expect(requestLines.find((l) => l.requestId === 'log-test-2')).toMatchObject({
      res: { statusCode: 404 },
      route: 'unmatched',
    });
    const all = JSON.stringify(lines);
    expect(all).not.toContain('top-secret-token');
    expect(all).not.toContain('another-secret');
    expect(all).not.toContain('"volume":9');
  });
});
