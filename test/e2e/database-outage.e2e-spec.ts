import { mysqlBaseUrl, workerDatabaseUrl } from '../setup/mysql-test-db';
import { TcpProxy } from './support/tcp-proxy';
import { bar, TestApp } from './support/test-app';

const base = mysqlBaseUrl();

(base ? describe : describe.skip)(
  `MySQL outage${base ? '' : ' [mysql: skipped, TEST_MYSQL_URL not set]'}`,
  () => {
    const t = new TestApp('mysql');
    let proxy: TcpProxy;

    beforeAll(async () => {
      proxy = new TcpProxy(base!.hostname, Number(base!.port || 3306));
      await proxy.start();
      const url = new URL(await workerDatabaseUrl());
      url.port = String(proxy.port);
      await t.start({ DATABASE_URL: url.toString(), DB_POOL_SIZE: '2' });
      await t.truncate();
    });
    afterAll(async () => {
      await t.stop();
      await proxy.cut();
    });

    it('answers 503 problems while the database is unreachable, writes nothing, and recovers', async () => {
      const post = (body: unknown) =>
        t.http
          .post('/api/v1/data')
          .set('Content-Type', 'application/json')
          .send(body as object);
      await post([bar()]).expect(200);

      await proxy.cut();
      // Straight away, while the pool still holds the dead sockets, then once more.
      for (let i = 0; i < 2; i++) {
        const read = await t.http.get('/api/v1/data').expect(503);
        expect(read.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(read.body).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
      }

      const ready = await t.http.get('/health/ready').expect(503);
      expect(ready.body).toMatchObject({
        code: 'NOT_READY',
        checks: { database: { status: 'down' } },
      });
      await t.http.get('/health').expect(200);

      const write = await post([bar({ date: '2024-01-03' })]).expect(503);
      expect(write.body).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });

      await proxy.start();
      await t.http.get('/health/ready').expect(200);
      expect(await t.count()).toBe(1);
      const after = await t.http.get('/api/v1/data').expect(200);
      expect(after.body.pagination.total).toBe(1);
    });
  },
);
