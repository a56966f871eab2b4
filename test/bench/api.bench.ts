/**
 * `npm run bench:api`: the API's write and read paths on MySQL/MariaDB, each printed beside a
 * baseline measured in the same run on the same database:
 *   1. POST /api/v1/data with 10 000 bars (inserts, then the same bars again as updates)
 *      vs. raw mysql2 multi-row INSERT ... ON DUPLICATE KEY UPDATE of the same rows.
 *   2. GET /api/v1/data (random symbol, 6-month window, 100-row page; 1 000 000 bars over 200
 *      symbols) with the production stack on (NODE_ENV=production, JSON logs at info to a file,
 *      metrics, the response cache, in-process rate limits with a budget the load cannot exhaust,
 *      load shedding at its defaults; tracing off) vs. a bare node:http + mysql2 server sending the
 *      API's own statement (barPageSql from libs/database: the page and its COUNT(*) in one, the
 *      same SQL text) with the same JSON shape, so the ratio is the stack's overhead over the same
 *      database work: A-B-A-B phases of BENCH_SECONDS (10) at 1, 100 and 1000 connections,
 *      after an unmeasured warm-up of each server (5 s) at that count, each phase starting once
 *      both servers are idle (the last phase's queued work done), with req/s, requests served,
 *      p50, p99, non-2xx, timeouts (answered after 2 s), shed requests, connections left in the
 *      accept queue, and the CPU time each server process spent per request.
 *   3. With BENCH_CLUSTER_URL (the HAProxy of `npm run cluster:up`, e.g.
 *      mysql://root@127.0.0.1:13306/hd_bench_cluster): 1 and 2 again through the 3-node Galera
 *      cluster (3 runs of the POSTs; GET at 1 and 100 connections), then each API figure next to
 *      the single node's from this run. Bounded: about 2 minutes more at BENCH_SECONDS=10.
 * Load comes from wrk (apt-get install wrk). Loopback only; every phase is bounded in time.
 * BENCH_API_PORT (3900) and BENCH_BARE_PORT (3901) are where the API and the bare server listen.
 * BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/hd_bench) is dropped and recreated, and
 * so is BENCH_CLUSTER_URL's database.
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CLUSTER_URL,
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
  LoadResult,
  API_NODE_FLAGS,
  connect,
  cpuMicros,
  MILLION_DAYS,
  seedMillion,
} from './support';

/** BENCH_API_PORT (3900) and BENCH_BARE_PORT (3901): where the API and the bare server listen. */
const API_PORT = Number(process.env.BENCH_API_PORT ?? 3900);
const profileDir = process.env.BENCH_CPU_PROF_DIR;
/** When the running API stack started: the profile's clock starts with the process (a few ms after). */
let apiStart = 0;
const logFile = join(tmpdir(), `hd-bench-api-${process.pid}.log`);

async function shedCount(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${API_PORT}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('http_requests_shed_total{'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

const BARE_PORT = Number(process.env.BENCH_BARE_PORT ?? 3901);
/** The GET phases' connection counts (BENCH_GET_CONNECTIONS=1000: the overload rows only). */
const GET_CONNECTIONS = (process.env.BENCH_GET_CONNECTIONS ?? '1,100,1000').split(',').map(Number);

/**
 * Connections waiting in `port`'s accept queue (the listening socket's rx_queue in
 * /proc/net/tcp). wrk counts a timeout only for an answer that came late, never for a request
 * that got none: a connection still queued at the end of a phase waited unanswered (and
 * uncounted) for as long as it sat there.
 */
function acceptQueue(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    // local address, state 0A (LISTEN), tx_queue:rx_queue
    if (f[1]?.endsWith(hex.trim()) && f[3] === '0A') return parseInt(f[4].split(':')[1], 16);
  }
  return 0;
}

/** Phases start from a quiet machine: this long at most is waited for one (see settle). */
const SETTLE_MAX_MS = 15_000;
/** Unmeasured load each server gets at each connection count before its phases. */
const WARMUP_SECONDS = Math.min(5, SECONDS);

/**
 * Waits until every server in `servers` has been idle (at most one 10 ms tick of CPU in each of
 * two 250 ms windows) with nothing in its accept queue, or SETTLE_MAX_MS. When wrk stops, a
 * server can still hold work: connections queued for accept, queries still running (the bare
 * server at 1000 connections ends a phase with hundreds queued, and serves them to closed
 * sockets for a second or more). Without this, that work ran into the next phase, the other
 * server's, and was charged to it.
 */
async function settle(servers: { pid: number; port: number }[]): Promise<void> {
  const deadline = performance.now() + SETTLE_MAX_MS;
  let quietWindows = 0;
  let before = servers.map((s) => cpuMicros(s.pid));
  while (quietWindows < 2 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = servers.map((s) => cpuMicros(s.pid));
    const idle =
      now.every((cpu, i) => cpu - before[i] <= 10_000) &&
      servers.every((s) => acceptQueue(s.port) === 0);
    quietWindows = idle ? quietWindows + 1 : 0;
    before = now;
  }
}

async function rawUpsert(rows: ReturnType<typeof bars>, url: URL): Promise<number> {
  const conn = await connect(url.pathname.slice(1), undefined, url);
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

/** The API (production stack) and the bare server on the database at `url`. */
async function stack(url: URL): Promise<{ api: ChildProcess; bare: ChildProcess }> {
  apiStart = performance.now();
  const api = await server(
    join(root, 'dist/apps/api/src/main.js'),
    API_PORT,
    {
      DATABASE_URL: url.toString(),
      ...BENCH_ENV,
      // The production stack: rate limits and the response cache on (budgets the load never
      // exhausts: one client here stands for many), logs at info.
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_ANONYMOUS: '1000000000',
      RATE_LIMIT_KEYED: '1000000000',
      CACHE_ENABLED: 'true',
      DB_MIGRATIONS_RUN: 'true',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      // Overload settings to compare (OVERLOAD_ACCEPT_HANDLES=1, ...): passed through as given.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('OVERLOAD_'))),
    },
    logFile,
    // BENCH_CPU_PROF_DIR: the API runs under `node --cpu-prof` and each GET phase prints its window
    // in seconds from the API's start, for scripts/profile-layers.mjs --from/--to.
    profileDir ? [...API_NODE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${profileDir}`] : API_NODE_FLAGS,
  );
  const bare = await server(join(root, 'dist/test/bench/bare-server.js'), BARE_PORT, {
    BENCH_DATABASE_URL: url.toString(),
  });
  return { api, bare };
}

/** Medians, in ms, of the API's and raw mysql2's 10 000-bar inserts and updates. */
interface WriteFigures {
  insert: number;
  update: number;
  rawInsert: number;
  rawUpdate: number;
}

/** 1. Bulk POST: fresh inserts and updates, `runs` runs each, vs raw mysql2 on rows of its own. */
async function writes(url: URL, runs: number): Promise<WriteFigures> {
  // Seed 200 symbols x 1000 days = 200 000 bars through the API (20 requests of 10 000).
  const seedMs: number[] = [];
  for (let s = 0; s < SYMBOLS; s += 10) {
    seedMs.push((await postBars(API_PORT, bars(s, 10 * DAYS))).ms);
  }
  const insertRuns: number[] = [];
  const updateRuns: number[] = [];
  const rawInsertRuns: number[] = [];
  const rawUpdateRuns: number[] = [];
  for (let r = 0; r < runs; r++) {
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
    rawInsertRuns.push(await rawUpsert(theirs, url));
    rawUpdateRuns.push(
      await rawUpsert(
        theirs.map((b) => ({ ...b, close: b.close + 0.5 })),
        url,
      ),
    );
  }
  const figures = {
    insert: median(insertRuns),
    update: median(updateRuns),
    rawInsert: median(rawInsertRuns),
    rawUpdate: median(rawUpdateRuns),
  };
  const line = (label: string, apiMs: number, rawMs: number) =>
    console.log(
      `${label.padEnd(34)} API ${fmt(10_000 / (apiMs / 1000)).padStart(8)} bars/s (${apiMs.toFixed(0)} ms)   ` +
        `raw mysql2 ${fmt(10_000 / (rawMs / 1000)).padStart(8)} bars/s (${rawMs.toFixed(0)} ms)   ratio ${(rawMs / apiMs).toFixed(2)}`,
    );
  console.log(
    `POST /api/v1/data, 10 000 bars per request (median of ${runs}, client-observed over loopback)`,
  );
  line('  new bars (inserted)', figures.insert, figures.rawInsert);
  line('  same bars again (updated)', figures.update, figures.rawUpdate);
  console.log(
    `  seeding 200 000 bars took ${(seedMs.reduce((a, b) => a + b, 0) / 1000).toFixed(1)} s over 20 requests\n`,
  );
  return figures;
}

/** 2. GET, A-B-A-B against the bare server, on 1 000 000 bars; mean API req/s per connections. */
async function reads(
  url: URL,
  servers: { api: ChildProcess; bare: ChildProcess },
  connectionCounts: number[],
): Promise<Map<number, number>> {
  await seedMillion(url);
  const data = { symbols: SYMBOLS, firstDay: '2000-01-01', days: MILLION_DAYS, windowDays: 182 };
  console.log(
    `GET /api/v1/data?symbol&start_date&end_date&limit=100: random symbol and 6-month window over ${fmt(SYMBOLS * MILLION_DAYS)} bars; ` +
      `production stack on; phases of ${SECONDS} s, API and bare alternating`,
  );
  console.log(
    '  conn  server   req/s  served/s   p50 ms   p99 ms  non-2xx  timeouts  shed  queued max/end  CPU µs/req (server)',
  );
  const apiRates = new Map<number, number>();
  const both = [
    { pid: servers.api.pid!, port: API_PORT },
    { pid: servers.bare.pid!, port: BARE_PORT },
  ];
  for (const connections of connectionCounts) {
    const runs: Record<'api' | 'bare', LoadResult[]> = { api: [], bare: [] };
    const leftQueued = { api: 0, bare: 0 };
    // Steady state is what is compared: each server first serves WARMUP_SECONDS of the same load,
    // not counted (JIT, pool connections, heap sizing; a new process ran its first phase at about
    // 0.6x the speed of its second on a slow machine).
    for (const target of ['bare', 'api'] as const) {
      await settle(both);
      await load(target === 'api' ? API_PORT : BARE_PORT, connections, WARMUP_SECONDS, data);
    }
    for (const target of ['bare', 'api', 'bare', 'api'] as const) {
      const port = target === 'api' ? API_PORT : BARE_PORT;
      const pid = servers[target].pid!;
      await settle(both);
      const shed0 = await shedCount();
      const cpu0 = cpuMicros(pid);
      const from = (performance.now() - apiStart) / 1000;
      let queuedMax = 0;
      const sampler = setInterval(() => (queuedMax = Math.max(queuedMax, acceptQueue(port))), 250);
      const r = await load(port, connections, SECONDS, data);
      clearInterval(sampler);
      const queuedEnd = acceptQueue(port);
      leftQueued[target] += queuedEnd;
      if (profileDir && target === 'api') {
        const to = (performance.now() - apiStart) / 1000;
        console.log(
          `  (profile window: --from ${from.toFixed(1)} --to ${to.toFixed(1)} --requests ${r.requests.total})`,
        );
      }
      const cpu = (cpuMicros(pid) - cpu0) / Math.max(1, r.requests.total);
      const shed = target === 'api' ? (await shedCount()) - shed0 : 0;
      runs[target].push(r);
      console.log(
        `  ${String(connections).padStart(4)}  ${target.padEnd(5)} ${fmt(r.requests.average).padStart(7)}  ${fmt((r.requests.total - r.non2xx) / SECONDS).padStart(8)} ${r.latency.p50.toFixed(1).padStart(8)} ${r.latency.p99.toFixed(1).padStart(8)}` +
          `  ${String(r.non2xx).padStart(7)}  ${String(r.timeouts).padStart(8)}  ${String(shed).padStart(5)}  ${`${queuedMax}/${queuedEnd}`.padStart(14)}  ${fmt(cpu).padStart(6)}`,
      );
    }
    const mean = (xs: LoadResult[]) => xs.reduce((a, x) => a + x.requests.average, 0) / xs.length;
    // The ratio compares requests served (2xx): a 503 OVERLOADED is an answer, not a read served.
    const servedRate = (xs: LoadResult[]) =>
      xs.reduce((a, x) => a + (x.requests.total - x.non2xx) / SECONDS, 0) / xs.length;
    const p99s = (xs: LoadResult[]) => xs.map((x) => x.latency.p99);
    apiRates.set(connections, mean(runs.api));
    console.log(
      `  ${String(connections).padStart(4)}  ratio API/bare ${(servedRate(runs.api) / servedRate(runs.bare)).toFixed(2)} (mean served/s ${fmt(servedRate(runs.api))} vs ${fmt(servedRate(runs.bare))}); ` +
        `p99 API ${p99s(runs.api)
          .map((x) => x.toFixed(0))
          .join('/')} ms vs bare ${p99s(runs.bare)
          .map((x) => x.toFixed(0))
          .join('/')} ms; ` +
        `timeouts API ${runs.api.reduce((a, x) => a + x.timeouts, 0)} vs bare ${runs.bare.reduce((a, x) => a + x.timeouts, 0)}; ` +
        `left unaccepted at the end API ${leftQueued.api} vs bare ${leftQueued.bare}`,
    );
  }
  return apiRates;
}

function stop(servers: { api: ChildProcess; bare: ChildProcess }): Promise<unknown> {
  const exited = [servers.api, servers.bare].map((c) =>
    c.exitCode === null ? once(c, 'exit') : Promise.resolve(),
  );
  servers.api.kill('SIGTERM');
  servers.bare.kill('SIGTERM');
  return Promise.all(exited);
}

async function main(): Promise<void> {
  const v = await resetDatabase();
  console.log(`Benchmarks on ${v}, database ${DB_NAME}; ${SECONDS}s per load phase\n`);
  let servers = await stack(DB_URL);
  let single: { writes: WriteFigures; reads: Map<number, number> };
  try {
    single = {
      writes: await writes(DB_URL, 5),
      reads: await reads(DB_URL, servers, GET_CONNECTIONS),
    };
  } finally {
    await stop(servers);
  }
  if (!CLUSTER_URL) process.exit(0);

  // 3. The same through the Galera cluster (BENCH_CLUSTER_URL): the API and the bare server on
  // HAProxy; fewer runs and no 1000-connection phase, to keep the whole bounded.
  const cv = await resetDatabase(CLUSTER_URL);
  console.log(`\nThrough the Galera cluster: ${cv} behind HAProxy (${CLUSTER_URL.host})\n`);
  servers = await stack(CLUSTER_URL);
  try {
    const cluster = {
      writes: await writes(CLUSTER_URL, 3),
      reads: await reads(CLUSTER_URL, servers, [1, 100]),
    };
    const ratio = (label: string, one: number, three: number, unit: string) =>
      console.log(
        `  ${label.padEnd(34)} single node ${fmt(one).padStart(8)} ${unit}   cluster ${fmt(three).padStart(8)} ${unit}   cluster/single ${(three / one).toFixed(2)}`,
      );
    console.log('\nCluster next to the single node (API figures, same run)');
    ratio(
      'POST 10 000 new bars',
      1e7 / single.writes.insert,
      1e7 / cluster.writes.insert,
      'bars/s',
    );
    ratio(
      'POST 10 000 bars again (updates)',
      1e7 / single.writes.update,
      1e7 / cluster.writes.update,
      'bars/s',
    );
    ratio(
      'raw mysql2 upsert of 10 000 bars',
      1e7 / single.writes.rawInsert,
      1e7 / cluster.writes.rawInsert,
      'bars/s',
    );
    for (const [connections, rate] of cluster.reads)
      ratio(`GET /api/v1/data, ${connections} conn`, single.reads.get(connections)!, rate, 'req/s');
  } finally {
    await stop(servers);
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
