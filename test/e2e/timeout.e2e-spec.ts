import { TransactionRunner } from '@app/database';
import { bar, describeEachDialect } from './support/test-app';
import { trickledUpload } from './support/trickled-upload';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The request time budget: past it the client gets 503 REQUEST_TIMEOUT as problem+json at once,
 * and the work stops — a write that was waiting rolls back instead of landing later, an upload
 * stops reading and is recorded as failed with what it committed.
 */
describeEachDialect(
  'request timeout',
  (t) => {
    it('answers 503 REQUEST_TIMEOUT when a write waits past the budget, and the write never lands', async () => {
      // Hold the table the POST needs: the SQLite write lock, or a MySQL row lock on its pair.
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const blocker = t.app.get(TransactionRunner).run(async (tx) => {
        if (t.dialect === 'mysql') {
          await tx.query(
            "INSERT INTO historical_data (symbol, `date`, `open`, high, low, `close`, volume, created_at, updated_at) VALUES ('HOLD', '2024-01-02', 1, 1, 1, 1, 1, NOW(), NOW())",
          );
        }
        await held;
        throw new Error('roll back the blocker');
      });

      const started = Date.now();
      const res = await t.http
        .post('/api/v1/data')
        .send([
          bar({ symbol: 'HOLD', date: '2024-01-02' }),
          bar({ symbol: 'HOLD', date: '2024-01-03' }),
        ])
        .expect(503)
        .expect('Content-Type', /application\/problem\+json/);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.body).toMatchObject({
        status: 503,
        code: 'REQUEST_TIMEOUT',
        title: 'Request timed out',
        type: 'urn:problem:historical-data:request-timeout',
        requestId: expect.any(String),
      });
      expect(res.body.detail).toContain('300 ms');

      release();
      await expect(blocker).rejects.toThrow('roll back the blocker');
      // The POST's own transaction gets its turn now, and must not commit.
      await sleep(300);
      expect(await t.count()).toBe(0);
      // The service is fine afterwards.
      await t.http
        .post('/api/v1/data')
        .send([bar({ symbol: 'OK' })])
        .expect(200);
      expect(await t.count()).toBe(1);
    });

    it('gives uploads the longer budget, then stops reading, answers 503 and records the upload failed', async () => {
      const url = await t.url();
      const started = Date.now();
      // A client that starts and then stalls: the body never finishes within the budget.
      const answer = await trickledUpload(url, {
        first: 'symbol,date,open,high,low,close,volume\nSTALL,2024-01-02,1,2,1,1.5,10\n',
        giveUpMs: 4000,
      });
      const elapsed = Date.now() - started;
      // Not the 300 ms of ordinary requests: the upload budget (1 s), then the answer.
      expect(elapsed).toBeGreaterThanOrEqual(950);
      expect(elapsed).toBeLessThan(3500);
      expect(answer.status).toBe(503);
      expect(answer.headers.connection).toBe('close');
      expect(JSON.parse(answer.body)).toMatchObject({ code: 'REQUEST_TIMEOUT' });

      await sleep(200);
      const list = await t.http.get('/api/v1/uploads').expect(200);
      expect(list.body.data[0]).toMatchObject({
        status: 'failed',
        message: expect.stringContaining('budget'),
        report: { inserted: 0 },
      });
      expect(await t.count()).toBe(0);
    });
  },
  { REQUEST_TIMEOUT_MS: '300', UPLOAD_TIMEOUT_MS: '1000' },
);
