/**
 * `npm run bench`: the API's write and read paths on MySQL/MariaDB, each printed beside a
 * baseline measured in the same run on the same database:
 *   1. POST /api/v1/data with 10 000 bars (inserts, then the same bars again as updates)
 *      vs. raw mysql2 multi-row INSERT ... ON DUPLICATE KEY UPDATE of the same rows.
 *   2. GET /api/v1/data (symbol + 100-row window) at 1 and 100 connections vs. a bare node:http
 *      + mysql2 server running the same SQL; then 1000 connections, counting errors.
 * Loopback only; every phase is bounded in time and count.
 * BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/hd_bench) is dropped and recreated.
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'mysql2/promise';
import { join } from 'node:path';

const DB_URL = new URL(process.env.BENCH_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/hd_bench');
const DB_NAME = DB_URL.pathname.slice(1);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SYMBOLS = 200;
const DAYS = 1000;
const API_PORT = 3900;
const BARE_PORT = 3901;
const root = join(__dirname, '..', '..', '..');

if (!/bench|test/.test(DB_NAME))
  throw new Error(`refusing to drop "${DB_NAME}": name must contain bench or test`);

const day = (i: number): string =>
  new Date(Date.UTC(2015, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

function bars(symbolOffset: number, count: number, dayOffset = 0) {
  return Array.from({ length: count }, (_, i) => {
    const base = 100 + ((i * 7) % 50);
    return {
      symbol: `SYM${String(symbolOffset + (i % 10)).padStart(3, '0')}`,
      date: day(dayOffset + Math.floor(i / 10)),
      open: base,
      high: base + 2.5,
      low: base - 2.25,
      close: base + 1.125,
      volume: 1_000_000 + i,
    };
  });
}

const children: ChildProcess[] = [];
// Whatever happens, no server outlives the benchmark.
process.on('exit', () => children.forEach((c) => c.kill('SIGTERM')));

async function server(
  entry: string,
  port: number,
  env: Record<string, string>,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [entry], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      BENCH_DATABASE_URL: DB_URL.toString(),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.status < 500) return child;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill();
  throw new Error(`${entry} did not start`);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function postBars(body: unknown[]): Promise<{ ms: number; report: Record<string, number> }> {
  const payload = JSON.stringify(body);
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${API_PORT}/api/v1/data`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: payload,
  });
  const report = (await res.json()) as Record<string, number>;
  if (res.status !== 200)
    throw new Error(`POST failed: ${res.status} ${JSON.stringify(report).slice(0, 300)}`);
  return { ms: performance.now() - t0, report };
}

async function rawUpsert(rows: ReturnType<typeof bars>): Promise<number> {
  const conn = await createConnection({
    host: DB_URL.hostname,
    port: Number(DB_URL.port || 3306),
    user: decodeURIComponent(DB_URL.username),
    password: decodeURIComponent(DB_URL.password),
    database: DB_NAME,
  });
  const t0 = performance.now();
  await conn.beginTransaction();
  for (let i = 0; i < rows.length; i += 2000) {
    const batch = rows.slice(i, i + 2000);
    await conn.query(
      'INSERT INTO historical_data (symbol, `date`, `open`, high, low, `close`, adj_close, volume) VALUES ? ' +
        'ON DUPLICATE KEY UPDATE `open` = VALUES(`open`), high = VALUES(high), low = VALUES(low), `close` = VALUES(`close`), ' +
        'adj_close = VALUES(adj_close), volume = VALUES(volume), updated_at = CURRENT_TIMESTAMP(6)',
      [batch.map((b) => [b.symbol, b.date, b.open, b.high, b.low, b.close, null, b.volume])],
    );
  }
  await conn.commit();
  const ms = performance.now() - t0;
  await conn.end();
  return ms;
}

function load(port: number, connections: number, seconds: number): Promise<autocannon.Result> {
  let n = 0;
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          n = (n * 1103515245 + 12345) % 2147483648;
          const symbol = `SYM${String(n % SYMBOLS).padStart(3, '0')}`;
          const start = n % (DAYS - 150);
          return {
            ...req,
            path: `/api/v1/data?symbol=${symbol}&start_date=${day(start)}&end_date=${day(start + 140)}&limit=100`,
          };
        },
      },
    ],
  });
}

async function main(): Promise<void> {
  const admin = await createConnection({
    host: DB_URL.hostname,
    port: Number(DB_URL.port || 3306),
    user: decodeURIComponent(DB_URL.username),
    password: decodeURIComponent(DB_URL.password),
  });
  const [[{ v }]] = (await admin.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
  await admin.query(`DROP DATABASE IF EXISTS \`${DB_NAME}\``);
  await admin.query(`CREATE DATABASE \`${DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  console.log(`Benchmarks on ${v}, database ${DB_NAME}; ${SECONDS}s per load phase\n`);

  const api = await server(join(root, 'dist/apps/api/src/main.js'), API_PORT, {
    DATABASE_URL: DB_URL.toString(),
    NODE_ENV: 'production',
    DB_MIGRATIONS_RUN: 'true',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  });
  const bare = await server(join(root, 'dist/test/bench/bare-server.js'), BARE_PORT, {});
  try {
    // Seed 200 symbols x 1000 days = 200 000 bars through the API (20 requests of 10 000).
    const seedMs: number[] = [];
    for (let s = 0; s < SYMBOLS; s += 10) {
      seedMs.push((await postBars(bars(s, 10 * DAYS))).ms);
    }

    // 1. Bulk POST: fresh inserts and updates, 5 runs each, vs raw mysql2 on rows of its own.
    const insertRuns: number[] = [];
    const updateRuns: number[] = [];
    const rawInsertRuns: number[] = [];
    const rawUpdateRuns: number[] = [];
    for (let r = 0; r < 5; r++) {
      const mine = bars(1000 + r * 10, 10_000, 0);
      const theirs = bars(2000 + r * 10, 10_000, 0);
      const ins = await postBars(mine);
      if (ins.report.inserted !== 10_000) throw new Error('expected 10 000 inserts');
      insertRuns.push(ins.ms);
      const upd = await postBars(mine.map((b) => ({ ...b, close: b.close + 0.5 })));
      if (upd.report.updated !== 10_000) throw new Error('expected 10 000 updates');
      updateRuns.push(upd.ms);
      rawInsertRuns.push(await rawUpsert(theirs));
      rawUpdateRuns.push(await rawUpsert(theirs.map((b) => ({ ...b, close: b.close + 0.5 }))));
    }
    const line = (label: string, apiMs: number, rawMs: number) =>
      console.log(
        `${label.padEnd(34)} API ${fmt(10_000 / (apiMs / 1000)).padStart(8)} bars/s (${apiMs.toFixed(0)} ms)   ` +
          `raw mysql2 ${fmt(10_000 / (rawMs / 1000)).padStart(8)} bars/s (${rawMs.toFixed(0)} ms)   ratio ${(rawMs / apiMs).toFixed(2)}`,
      );
    console.log(
      'POST /api/v1/data, 10 000 bars per request (median of 5, client-observed over loopback)',
    );
    line('  new bars (inserted)', median(insertRuns), median(rawInsertRuns));
    line('  same bars again (updated)', median(updateRuns), median(rawUpdateRuns));
    console.log(
      `  seeding 200 000 bars took ${(seedMs.reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s over 20 requests\n`,
    );

    // 2. GET: same randomised symbol + 140-day window (100-row page), API vs bare server.
    console.log(
      'GET /api/v1/data?symbol&start_date&end_date&limit=100 (random symbol and window; table of 300 000 bars)',
    );
    for (const connections of [1, 100]) {
      const a = await load(API_PORT, connections, SECONDS);
      const b = await load(BARE_PORT, connections, SECONDS);
      console.log(
        `  ${String(connections).padStart(4)} conn: API ${fmt(a.requests.average).padStart(6)} req/s p50 ${a.latency.p50} ms p99 ${a.latency.p99} ms` +
          `   bare ${fmt(b.requests.average).padStart(6)} req/s p50 ${b.latency.p50} ms p99 ${b.latency.p99} ms` +
          `   ratio ${(a.requests.average / b.requests.average).toFixed(2)}   errors ${a.errors + a.non2xx}/${b.errors + b.non2xx}`,
      );
    }
    const big = await load(API_PORT, 1000, SECONDS);
    console.log(
      `  1000 conn: API ${fmt(big.requests.average)} req/s p99 ${big.latency.p99} ms, errors ${big.errors}, non-2xx ${big.non2xx}, timeouts ${big.timeouts}`,
    );
  } finally {
    api.kill('SIGTERM');
    bare.kill('SIGTERM');
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
