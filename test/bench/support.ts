/** What the benchmarks share: the bench database, seed data, server processes and load. */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { createConnection } from 'mysql2/promise';
import { join } from 'node:path';

export const DB_URL = new URL(
  process.env.BENCH_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/hd_bench',
);
export const DB_NAME = DB_URL.pathname.slice(1);
export const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
export const SYMBOLS = 200;
export const DAYS = 1000;
export const root = join(__dirname, '..', '..', '..');

/** The key the benchmarks write with (production refuses to start without API_KEYS). */
export const BENCH_KEY = 'bench-admin-key-0000000000';
/**
 * What every benchmarked server runs with: a key, and neither rate limits (the load generator is
 * one client) nor the response cache (docs/OPERATIONS.md, "Benchmarks", measures reads with the cache off).
 */
export const BENCH_ENV = {
  NODE_ENV: 'production',
  API_KEYS: `bench:${BENCH_KEY}:admin`,
  RATE_LIMIT_ENABLED: 'false',
  CACHE_ENABLED: 'false',
};

if (!/bench|test/.test(DB_NAME))
  throw new Error(`refusing to drop "${DB_NAME}": name must contain bench or test`);

export const day = (i: number): string =>
  new Date(Date.UTC(2015, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

export function bars(symbolOffset: number, count: number, dayOffset = 0) {
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

export async function server(
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

export const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export async function postBars(
  port: number,
  body: unknown[],
): Promise<{ ms: number; report: Record<string, number> }> {
  const payload = JSON.stringify(body);
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/data`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': BENCH_KEY },
    body: payload,
  });
  const report = (await res.json()) as Record<string, number>;
  if (res.status !== 200)
    throw new Error(`POST failed: ${res.status} ${JSON.stringify(report).slice(0, 300)}`);
  return { ms: performance.now() - t0, report };
}

/** GET /api/v1/data for a random symbol and 140-day window (100-row page), for `seconds`. */
export function load(
  port: number,
  connections: number,
  seconds: number,
): Promise<autocannon.Result> {
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

/** Drops and recreates the bench database; answers the server version. */
export async function resetDatabase(): Promise<string> {
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
  return v;
}
