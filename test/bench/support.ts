/** What the benchmarks share: the bench database, seed data, server processes and load. */
import { ChildProcess, spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

/**
 * How `npm start` and the image run the API (see package.json): a larger young generation, so the
 * per-request garbage of a busy read path dies in cheap scavenges instead of being promoted.
 */
export const API_NODE_FLAGS = ['--max-semi-space-size=32'];

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
  logFile?: string,
  nodeFlags: string[] = [],
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeFlags, entry], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      BENCH_DATABASE_URL: DB_URL.toString(),
      ...env,
    },
    stdio: ['ignore', logFile ? openSync(logFile, 'w') : 'ignore', 'inherit'],
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

/** Runs wrk without blocking this process (the OTLP sink of bench:overhead lives here). */
function runWrk(args: string[], seconds: number): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('error', (err) =>
      reject(new Error(`wrk could not run (${err.message}); install it with: apt-get install wrk`)),
    );
    child.once('exit', (code) => {
      clearTimeout(killer);
      if (code === 0) resolve({ stdout });
      else reject(new Error(`wrk failed (exit ${code}): ${stderr}`));
    });
  });
}

export interface LoadResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  non2xx: number;
  timeouts: number;
}

/** wrk's latency figure ("812.34us", "1.05ms", "1.20s") in milliseconds. */
function toMs(figure: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(figure.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

/**
 * GET /api/v1/data for a random symbol (SYM000..SYM<symbols-1>) and a window of `windowDays`
 * starting on a random day of `days` from `firstDay`, 100 rows a page, for `seconds`: wrk (C, one
 * thread per core, little CPU of its own) with a Lua request generator. Requests unanswered after
 * 2 s count as timeouts.
 */
export async function load(
  port: number,
  connections: number,
  seconds: number,
  data: { symbols: number; firstDay: string; days: number; windowDays: number } = {
    symbols: SYMBOLS,
    firstDay: day(0),
    days: DAYS,
    windowDays: 140,
  },
): Promise<LoadResult> {
  const script = join(tmpdir(), `hd-bench-${process.pid}.lua`);
  const epoch = Date.parse(`${data.firstDay}T00:00:00Z`) / 1000;
  writeFileSync(
    script,
    // Each wrk thread runs its own Lua state: seeded alike, both would ask the same key sequence
    // (every key twice, half the requests cache hits). setup() numbers the threads; init() seeds.
    `local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end
init = function(args)
  math.randomseed(${Date.now() % 100000} + 7919 * thread_id)
end
request = function()
  local s = math.random(0, ${data.symbols - 1})
  local d = math.random(0, ${data.days - data.windowDays - 1})
  local sd = os.date("!%Y-%m-%d", ${epoch} + d * 86400)
  local ed = os.date("!%Y-%m-%d", ${epoch} + (d + ${data.windowDays}) * 86400)
  return wrk.format("GET", string.format("/api/v1/data?symbol=SYM%03d&start_date=%s&end_date=%s&limit=100", s, sd, ed))
end
`,
  );
  const run = await runWrk(
    [
      `-t${Math.min(2, connections)}`,
      `-c${connections}`,
      `-d${seconds}s`,
      '--timeout',
      '2s',
      '--latency',
      '-s',
      script,
      `http://127.0.0.1:${port}`,
    ],
    seconds,
  );
  const out = run.stdout;
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? 0);
  const total = num(/(\d+) requests in/);
  return {
    requests: { average: num(/Requests\/sec:\s+([\d.]+)/), total },
    latency: {
      p50: toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ''),
      p99: toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ''),
    },
    errors: num(/connect (\d+)/) + num(/read (\d+)/) + num(/write (\d+)/),
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    timeouts: num(/timeout (\d+)/),
  };
}

/**
 * BENCH_CLUSTER_URL (e.g. mysql://root@127.0.0.1:13306/hd_bench_cluster, the HAProxy of
 * `npm run cluster:up`): the benches then measure through the Galera cluster too, each figure
 * printed next to the single node's from the same run. Unset: single node only.
 */
export const CLUSTER_URL = process.env.BENCH_CLUSTER_URL
  ? new URL(process.env.BENCH_CLUSTER_URL)
  : undefined;
if (CLUSTER_URL && !/bench|test/.test(CLUSTER_URL.pathname))
  throw new Error(`refusing to drop "${CLUSTER_URL.pathname}": name must contain bench or test`);

/** A connection to the bench server, or `url`'s (and `database`, when given). */
export const connect = (database?: string, flags?: string[], url: URL = DB_URL) =>
  createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    flags,
  });

/** Drops and recreates the bench database (or `url`'s); answers the server version. */
export async function resetDatabase(url: URL = DB_URL): Promise<string> {
  const name = url.pathname.slice(1);
  const admin = await connect(undefined, undefined, url);
  const [[{ v }]] = (await admin.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
  await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  return v;
}

/** Days per symbol in the 1 000 000-bar data set (200 symbols from 2000-01-01). */
export const MILLION_DAYS = 5000;

/** user + system CPU time of a process so far, in µs (Linux /proc; 0 elsewhere). */
export function cpuMicros(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}

/** 200 symbols x 5000 days = 1 000 000 bars, generated by the database itself (seconds). */
export async function seedMillion(url: URL = DB_URL): Promise<void> {
  const conn = await connect(url.pathname.slice(1), undefined, url);
  const digits =
    '(SELECT 0 n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)';
  const t0 = performance.now();
  await conn.query("DELETE FROM historical_data WHERE symbol LIKE 'SYM%'");
  await conn.query(
    'INSERT INTO historical_data (symbol, `date`, `open`, high, low, `close`, volume) ' +
      "SELECT CONCAT('SYM', LPAD(s.n, 3, '0')), DATE_ADD('2000-01-01', INTERVAL d.n DAY), " +
      '100 + d.n % 50, 103 + d.n % 50, 98 + d.n % 50, 101 + d.n % 50, 1000000 + d.n ' +
      `FROM (SELECT a.n * 100 + b.n * 10 + c.n AS n FROM ${digits} a, ${digits} b, ${digits} c WHERE a.n * 100 + b.n * 10 + c.n < ${SYMBOLS}) s, ` +
      `(SELECT a.n * 1000 + b.n * 100 + c.n * 10 + e.n AS n FROM ${digits} a, ${digits} b, ${digits} c, ${digits} e WHERE a.n * 1000 + b.n * 100 + c.n * 10 + e.n < ${MILLION_DAYS}) d`,
  );
  await conn.query('ANALYZE TABLE historical_data');
  const [[{ n }]] = (await conn.query('SELECT COUNT(*) AS n FROM historical_data')) as unknown as [
    [{ n: number }],
  ];
  await conn.end();
  console.log(
    `seeded ${fmt(Number(n))} bars in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}
