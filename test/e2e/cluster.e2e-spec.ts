import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { redisTestUrl, uniqueRedisPrefix } from '../setup/redis-test';
import { ServerProcess } from './support/server-process';
import { TcpProxy } from './support/tcp-proxy';

/**
 * Two API instances (child processes, as deployed) on the 3-node MariaDB Galera cluster behind
 * HAProxy that `npm run cluster:up` starts, sharing one Redis. Runs when TEST_CLUSTER_URL names a
 * database on that HAProxy (e.g. mysql://root@127.0.0.1:13306/hd_cluster_test) and TEST_REDIS_URL
 * is set; .ci/run brings the cluster up, runs this spec and tears it down.
 */
const clusterUrl = process.env.TEST_CLUSTER_URL;
const enabled = Boolean(clusterUrl && redisTestUrl());
const ROOT = join(__dirname, '..', '..');
const NODE_SCRIPT = join(ROOT, 'scripts/cluster/node.sh');
const portBase = Number(process.env.CLUSTER_PORT_BASE ?? 13300);
const nodePort = (n: number) => portBase + 10 * n + 1;
const KEY = 'cluster-writer-key-0001';

/** The parts of an upload report and status these tests read. */
interface Report {
  inserted: number;
  updated: number;
  skipped: number;
  failed: number;
}
interface UploadStatus {
  status: string;
  message: string | null;
  report: Report;
  data: { close: number }[];
}

/**
 * `days` daily bars for each symbol from `from` (day index from 1960-01-01), as CSV. Every date
 * stays in the past (15,000 days end in 2001): a date past tomorrow is a rejected row, and an
 * earlier version of this spec (from 1990) counted those 6,064 rejections as lost rows.
 */
function csv(symbols: string[], from: number, days: number): string {
  const lines = ['symbol,date,open,high,low,close,volume'];
  for (const symbol of symbols) {
    for (let d = from; d < from + days; d++) {
      const date = new Date(Date.UTC(1960, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
      const open = 10 + (d % 97) / 7;
      lines.push(
        `${symbol},${date},${open.toFixed(4)},${(open + 1).toFixed(4)},${(open - 0.5).toFixed(4)},${(open + 0.25).toFixed(4)},${1000 + d}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

function node(action: 'kill' | 'start' | 'status', n: number) {
  const r = spawnSync('bash', [NODE_SCRIPT, action, String(n)], {
    encoding: 'utf8',
    env: { ...process.env, CLUSTER_PORT_BASE: String(portBase) },
    timeout: 180_000,
  });
  if (action !== 'status' && r.status !== 0) throw new Error(`node.sh ${action} ${n}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Runs SQL on one Galera node directly (not through HAProxy). */
async function onNode<T>(n: number, sql: string, params: unknown[] = []): Promise<T> {
  const url = new URL(clusterUrl!);
  const conn = await createConnection({
    host: '127.0.0.1',
    port: nodePort(n),
    user: decodeURIComponent(url.username),
    database: url.pathname.slice(1),
  });
  try {
    return (await conn.query(sql, params))[0] as T;
  } finally {
    await conn.end();
  }
}

(enabled ? describe : describe.skip)(
  enabled
    ? 'two replicas on a 3-node Galera cluster [cluster]'
    : 'two replicas on a 3-node Galera cluster [skipped: TEST_CLUSTER_URL or TEST_REDIS_URL not set]',
  () => {
    jest.setTimeout(240_000);
    const url = new URL(clusterUrl ?? 'mysql://x@127.0.0.1/x');
    const database = url.pathname.slice(1);
    const redisPrefix = uniqueRedisPrefix();
    const apps: ServerProcess[] = [];
    let a: ServerProcess;
    let b: ServerProcess;

    const start = async (id: string, databaseUrl = clusterUrl!) => {
      const app = new ServerProcess();
      apps.push(app);
      await app.start(
        {
          DATABASE_URL: databaseUrl,
          DB_POOL_SIZE: '6',
          REDIS_URL: redisTestUrl()!,
          REDIS_KEY_PREFIX: redisPrefix,
          INSTANCE_ID: id,
          UPLOAD_HEARTBEAT_MS: '1000',
          // Above Galera's eviction of a dead node (evs.suspect_timeout, 5 s), during which commits
          // stall cluster-wide: a shorter window would sweep live uploads whenever a node dies.
          UPLOAD_STALE_MS: '10000',
          RATE_LIMIT_ENABLED: 'false',
          API_KEYS: `etl:${KEY}:admin`,
          LOG_LEVEL: 'warn',
        },
        90_000,
      );
      return app;
    };

    const post = (app: ServerProcess, path: string, body: string, type = 'text/csv') =>
      fetch(`${app.url}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': type, 'X-API-Key': KEY },
        body,
      });
    const json = async (app: ServerProcess, path: string) => {
      const res = await fetch(`${app.url}${path}`, { headers: { 'X-API-Key': KEY } });
      return { status: res.status, body: (await res.json()) as UploadStatus };
    };
    // Counted on node3, which no drill kills (wsrep_sync_wait=1: it has applied what committed).
    const count = async (symbols: string[]) =>
      Number(
        (
          await onNode<{ n: number }[]>(
            3,
            `SELECT COUNT(*) AS n FROM historical_data WHERE symbol IN (${symbols.map(() => '?').join(',')})`,
            symbols,
          )
        )[0].n,
      );
    const committed = (report: Report) =>
      Number(report.inserted) + Number(report.updated) + Number(report.skipped);
    const waitEnd = (app: ServerProcess, id: string, ms = 120_000) =>
      until(
        `upload ${id} to end`,
        async () => {
          const { body } = await json(app, `/api/v1/uploads/${id}`);
          return ['completed', 'failed', 'interrupted'].includes(body.status) ? body : undefined;
        },
        ms,
      );

    beforeAll(async () => {
      for (const n of [1, 2, 3]) if (node('status', n) !== '4') node('start', n);
      const conn = await createConnection({
        host: url.hostname,
        port: Number(url.port),
        user: decodeURIComponent(url.username),
      });
      await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await conn.query(`CREATE DATABASE \`${database}\``);
      await conn.end();
      // One at a time: the first runs the migrations.
      a = await start('replica-a');
      b = await start('replica-b');
    });

    afterAll(() => {
      for (const app of apps) app.kill();
      for (const n of [1, 2, 3]) if (node('status', n) !== '4') node('start', n);
    });

    it('a write through A is read fresh through B (shared Redis cache, read-your-writes on any node)', async () => {
      const bar = {
        symbol: 'FRESH',
        date: '2024-01-02',
        open: 1,
        high: 2,
        low: 1,
        close: 1.5,
        volume: 10,
      };
      expect(
        (await post(a, '/api/v1/data', JSON.stringify([bar]), 'application/json')).status,
      ).toBe(200);
      const close = async () => (await json(b, '/api/v1/data?symbol=FRESH')).body.data[0].close;
      expect(await close()).toBe(1.5);
      expect(await close()).toBe(1.5); // now cached
      const update = JSON.stringify([{ ...bar, close: 1.75 }]);
      expect((await post(a, '/api/v1/data', update, 'application/json')).status).toBe(200);
      expect(await close()).toBe(1.75);
    });

    it('the same overlapping CSV through A and B at once: the union in the table, honest counts on both', async () => {
      const symbols = ['OVA', 'OVB', 'OVC'];
      const [ra, rb] = await Promise.all([
        post(a, '/api/v1/data/upload', csv(symbols, 0, 3000)),
        post(b, '/api/v1/data/upload', csv(symbols, 1500, 3000)),
      ]);
      const [ja, jb] = [(await ra.json()) as Report, (await rb.json()) as Report];
      // On failure, what the client saw and what the servers logged.
      expect({ a: ra.status, b: rb.status, ja, jb, logs: [...a.lines, ...b.lines] }).toMatchObject({
        a: 200,
        b: 200,
      });
      expect(await count(symbols)).toBe(3 * 4500);
      for (const r of [ja, jb]) {
        expect(r.failed).toBe(0);
        expect(r.inserted + r.updated).toBe(9000);
      }
      // Every bar was inserted exactly once, by one upload or the other.
      expect(ja.inserted + jb.inserted).toBe(3 * 4500);
    });

    it('the writing Galera node SIGKILLed mid-upload: the upload ends with a report equal to the table, B serves throughout, the node rejoins identical', async () => {
      const symbols = ['KILLA', 'KILLB', 'KILLC', 'KILLD'];
      const accepted = await post(a, '/api/v1/data/upload?async=true', csv(symbols, 0, 15000));
      expect(accepted.status).toBe(202);
      const { uploadId } = (await accepted.json()) as { uploadId: string };
      await until(
        'rows to be committed',
        async () => ((await count(symbols)) > 0 ? true : undefined),
        60_000,
      );
      const served: { at: number; status: number; body?: string }[] = [];
      let serving = true;
      const reader = (async () => {
        while (serving) {
          const res = await fetch(`${b.url}/api/v1/data?symbol=FRESH`).catch(() => undefined);
          const status = res?.status ?? 0;
          const body = status === 200 ? undefined : await res?.text().catch(() => undefined);
          served.push({ at: Date.now(), status, body });
          await sleep(100);
        }
      })();
      // node1 takes every connection (HAProxy sends to the backups only while it is down).
      node('kill', 1);
      const killedAt = Date.now();
      const done = await waitEnd(a, uploadId);
      // B is read through the node's eviction (evs.suspect_timeout, 5 s) and after it.
      await sleep(Math.max(0, killedAt + 8000 - Date.now()));
      serving = false;
      await reader;
      expect(['completed', 'failed']).toContain(done.status);
      expect(done.report.failed).toBe(0);
      expect(committed(done.report)).toBe(await count(symbols));
      if (done.status === 'completed') expect(await count(symbols)).toBe(60_000);
      // B answered throughout: a read on a connection the kill cut is run again on another.
      expect(served.length).toBeGreaterThan(5);
      expect(
        served
          .filter((s) => s.status !== 200)
          .map((s) => ({ ...s, afterKillMs: s.at - killedAt, logs: b.lines.slice(-20) })),
      ).toEqual([]);
      node('start', 1);
      const sums = [];
      for (const n of [1, 2, 3]) {
        sums.push(
          (await onNode<{ Checksum: string }[]>(n, 'CHECKSUM TABLE historical_data'))[0].Checksum,
        );
      }
      expect(new Set(sums).size).toBe(1);
    });

    it('an API instance killed mid async upload is swept to interrupted by the other within the stale window', async () => {
      const victim = await start('replica-victim');
      // 320,000 rows: several seconds of work, so the kill lands while the upload is running.
      const symbols = Array.from({ length: 16 }, (_, i) => `GONE${String.fromCharCode(65 + i)}`);
      const accepted = await post(victim, '/api/v1/data/upload?async=true', csv(symbols, 0, 20000));
      const { uploadId } = (await accepted.json()) as { uploadId: string };
      await until(
        'rows to be committed',
        async () => ((await count(symbols)) > 0 ? true : undefined),
        60_000,
      );
      victim.kill();
      const killedAt = Date.now();
      const swept = await waitEnd(b, uploadId, 30_000);
      expect(swept.status).toBe('interrupted');
      expect(swept.message).toContain('heartbeat went stale');
      // Stale window (10 s) + a sweep interval (3.3 s) + polling slack.
      expect(Date.now() - killedAt).toBeLessThan(16_000);
      expect(committed(swept.report)).toBe(await count(symbols));
    });

    it('the database link cut and restored mid upload: failed or interrupted, committed counts equal to the table', async () => {
      const proxy = new TcpProxy(url.hostname, Number(url.port));
      await proxy.start();
      const viaProxy = new URL(clusterUrl!);
      viaProxy.port = String(proxy.port);
      const cut = await start('replica-cut', viaProxy.toString());
      const symbols = ['CUTA', 'CUTB', 'CUTC', 'CUTD'];
      const accepted = await post(cut, '/api/v1/data/upload?async=true', csv(symbols, 0, 15000));
      const { uploadId } = (await accepted.json()) as { uploadId: string };
      await until(
        'rows to be committed',
        async () => ((await count(symbols)) > 0 ? true : undefined),
        60_000,
      );
      await proxy.cut();
      await sleep(2000);
      await proxy.start();
      const done = await waitEnd(b, uploadId, 60_000);
      expect(['failed', 'interrupted', 'completed']).toContain(done.status);
      expect(committed(done.report)).toBe(await count(symbols));
      await proxy.cut();
    });

    it('LOAD DATA cannot silently lose rows on a certification conflict (instances pinned to different nodes)', async () => {
      const n1 = new URL(clusterUrl!);
      n1.port = String(nodePort(1));
      const n3 = new URL(clusterUrl!);
      n3.port = String(nodePort(3));
      const [p1, p3] = [
        await start('pinned-1', n1.toString()),
        await start('pinned-3', n3.toString()),
      ];
      const symbols = ['CERTA', 'CERTB'];
      let inserted = 0;
      for (let round = 0; round < 3; round++) {
        const results = await Promise.all([
          post(p1, '/api/v1/data/upload', csv(symbols, round * 1000, 2000)),
          post(p3, '/api/v1/data/upload', csv(symbols, round * 1000 + 500, 2000)),
        ]);
        for (const r of results) {
          expect(r.status).toBe(200);
          const report = (await r.json()) as Report;
          expect(report.inserted + report.updated).toBe(4000);
          inserted += report.inserted;
        }
      }
      // Rows 0 .. 4499 of each symbol: all there, each inserted once. A load lost to a conflict
      // (and taken for success) would leave a hole here or make the counts disagree.
      expect(await count(symbols)).toBe(2 * 4500);
      expect(inserted).toBe(2 * 4500);
    });
  },
);
