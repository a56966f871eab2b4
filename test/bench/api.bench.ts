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
import { createConnection } from 'mysql2/promise';
import { join } from 'node:path';
import {
  bars,
  DAYS,
  DB_NAME,
  DB_URL,
  fmt,
  load,
  median,
  postBars,
  resetDatabase,
  root,
  SECONDS,
  server,
  SYMBOLS,
  BENCH_ENV,
} from './support';

const API_PORT = 3900;
const BARE_PORT = 3901;

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

async function main(): Promise<void> {
  const v = await resetDatabase();
  console.log(`Benchmarks on ${v}, database ${DB_NAME}; ${SECONDS}s per load phase\n`);

  const api = await server(join(root, 'dist/apps/api/src/main.js'), API_PORT, {
    DATABASE_URL: DB_URL.toString(),
    ...BENCH_ENV,
    DB_MIGRATIONS_RUN: 'true',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  });
  const bare = await server(join(root, 'dist/test/bench/bare-server.js'), BARE_PORT, {});
  try {
    // Seed 200 symbols x 1000 days = 200 000 bars through the API (20 requests of 10 000).
    const seedMs: number[] = [];
    for (let s = 0; s < SYMBOLS; s += 10) {
      seedMs.push((await postBars(API_PORT, bars(s, 10 * DAYS))).ms);
    }

    // 1. Bulk POST: fresh inserts and updates, 5 runs each, vs raw mysql2 on rows of its own.
    const insertRuns: number[] = [];
    const updateRuns: number[] = [];
    const rawInsertRuns: number[] = [];
    const rawUpdateRuns: number[] = [];
    for (let r = 0; r < 5; r++) {
      const mine = bars(1000 + r * 10, 10_000, 0);
      const theirs = bars(2000 + r * 10, 10_000, 0);
      const ins = await postBars(API_PORT, mine);
      if (ins.report.inserted !== 10_000) throw new Error('expected 10 000 inserts');
      insertRuns.push(ins.ms);
      const upd = await postBars(
        API_PORT,
        mine.map((b) => ({ ...b, close: b.close + 0.5 })),
      );
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
