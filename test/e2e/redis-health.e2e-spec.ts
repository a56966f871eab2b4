import { redisTestUrl, describeWithRedis, uniqueRedisPrefix } from '../setup/redis-test';
import { TcpProxy } from './support/tcp-proxy';
import { TestApp } from './support/test-app';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Readiness with REDIS_URL set: Redis is a dependency like the database. */
describeWithRedis('readiness with Redis', (url) => {
  const target = new URL(url || 'redis://127.0.0.1:6379');
  const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
  const t = new TestApp('sqlite');

  beforeAll(async () => {
    await proxy.start();
    const viaProxy = new URL(url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    await t.start({ REDIS_URL: viaProxy.toString(), REDIS_KEY_PREFIX: uniqueRedisPrefix() });
  });
  afterAll(async () => {
    await t.stop();
    await proxy.cut();
  });

  it('is ready while Redis answers, 503 naming redis while it is gone, and ready again when it is back', async () => {
    const up = await t.http.get('/health/ready').expect(200);
    expect(up.body.info).toMatchObject({ database: { status: 'up' }, redis: { status: 'up' } });

    await proxy.cut();
    const down = await t.http
      .get('/health/ready')
      .expect(503)
      .expect('Content-Type', /application\/problem\+json/);
    expect(down.body).toMatchObject({
      code: 'NOT_READY',
      checks: { database: { status: 'up' }, redis: { status: 'down' } },
    });
    // Liveness does no I/O: the process is fine.
    await t.http.get('/health').expect(200);

    await proxy.start();
    for (let i = 0; i < 40; i++) {
      if ((await t.http.get('/health/ready')).status === 200) return;
      await sleep(100);
    }
    throw new Error('readiness did not recover after Redis came back');
  });
});

describe('readiness without Redis', () => {
  it('does not check Redis when REDIS_URL is unset', async () => {
    const t = new TestApp('sqlite');
    await t.start();
    try {
      const res = await t.http.get('/health/ready').expect(200);
      expect(res.body.info).not.toHaveProperty('redis');
    } finally {
      await t.stop();
    }
  });

  it('starts with an unreachable Redis and reports it down', async () => {
    if (!redisTestUrl()) return;
    const t = new TestApp('sqlite');
    await t.start({ REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const res = await t.http.get('/health/ready').expect(503);
      expect(res.body.checks.redis).toMatchObject({ status: 'down' });
    } finally {
      await t.stop();
    }
  });
});
