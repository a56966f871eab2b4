import { request as httpRequest } from 'node:http';
import { trickledUpload } from './support/trickled-upload';
import { describeEachDialect } from './support/test-app';

/** A GET over a plain socket: status, headers, body and how long the answer took. */
function get(
  url: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          body,
          ms: performance.now() - t0,
        }),
      );
    })
      .on('error', reject)
      .end();
  });
}

/**
 * A saturated server holds a new request for at most OVERLOAD_MAX_QUEUE_WAIT_MS, then refuses it
 * with 503 OVERLOADED (problem+json, Retry-After) instead of letting it wait past the client's
 * timeout; probes are answered at once meanwhile; refusals are counted. Saturation here:
 * OVERLOAD_MAX_IN_FLIGHT=2 and two uploads whose bodies trickle in.
 */
describeEachDialect(
  'load shedding',
  (t) => {
    it('answers 503 OVERLOADED after the queue wait while saturated, keeps /health at 200, and serves again after', async () => {
      const base = await t.url();
      const header = 'symbol,date,open,high,low,close,volume\n';
      const slow = [1, 2].map((i) =>
        trickledUpload(base, {
          first: header,
          rest: `SHD${i},2024-01-02,1,2,1,1.5,10\n`,
          afterMs: 1500,
        }),
      );
      await new Promise((r) => setTimeout(r, 300));

      const waiting = get(`${base}/api/v1/data?symbol=AAPL&apiKey=never-echoed-0123456789`);
      // Probes are never held, not even behind requests waiting for a place.
      const health = await get(`${base}/health`);
      expect(health.status).toBe(200);
      expect(health.ms).toBeLessThan(250);
      const refused = await waiting;
      expect(refused.status).toBe(503);
      expect(refused.ms).toBeGreaterThanOrEqual(290);
      expect(refused.ms).toBeLessThan(1000);
      // It waited already: the connection stays open for the retry.
      expect(refused.headers.connection).not.toBe('close');
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.headers['retry-after']).toBe('1');
      expect(refused.headers['x-request-id']).toEqual(expect.any(String));
      expect(JSON.parse(refused.body)).toMatchObject({
        status: 503,
        code: 'OVERLOADED',
        title: 'Server overloaded',
        instance: '/api/v1/data?symbol=AAPL&apiKey=REDACTED',
        requestId: refused.headers['x-request-id'],
      });
      expect((await get(`${base}/health/ready`)).status).toBe(200);
      const metrics = await get(`${base}/metrics`);
      expect(metrics.body).toMatch(/^http_requests_shed_total\{reason="in_flight"\} [1-9]/m);
      expect(metrics.body).toMatch(
        /^http_requests_total\{method="GET",route="shed",status_code="503"\} [1-9]/m,
      );

      const uploads = await Promise.all(slow);
      expect(uploads.map((u) => u.status)).toEqual([200, 200]);
      expect((await get(`${base}/api/v1/data?symbol=SHD1`)).status).toBe(200);
    });
  },
  { OVERLOAD_MAX_IN_FLIGHT: '2', OVERLOAD_MAX_QUEUE_WAIT_MS: '300' },
);
