/**
 * bench:read, export section (read.bench.ts runs it last: it resets the database):
 *   - exportSection(): GET /api/v1/data/export of 500 000 bars as CSV (production stack: logging,
 *     metrics, helmet, compression skipped for a client accepting no encoding) vs. a bare
 *     node:http + mysql2 stream writing the same CSV (bare-export-server.ts), API and bare
 *     alternating for BENCH_EXPORT_ROUNDS rounds (default 3) after one untimed warm-up each;
 *     medians, each server's CPU time per export, and the API server's resident set sampled
 *     every 50 ms while it exports (plus its VmHWM). The client reads as fast as the socket
 *     delivers (flowing mode, nothing kept but a running digest). Targets (docs/DESIGN):
 *     >= 0.8x the bare stream, <= 256 MB.
 * BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/hd_bench) is dropped and recreated;
 * BENCH_EXPORT_PORT (43920) is the API's port, the bare server's is the next one.
 */
import { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import {
  API_NODE_FLAGS,
  BENCH_ENV,
  connect,
  cpuMicros,
  DB_NAME,
  DB_URL,
  fmt,
  median,
  resetDatabase,
  root,
  server,
} from './support';

const EXPORT_BARS = 500_000;
const EXPORT_SYMBOLS = 200;
const API_PORT = Number(process.env.BENCH_EXPORT_PORT ?? 43920);
const BARE_PORT = API_PORT + 1;

const ROUNDS = Math.max(1, Number(process.env.BENCH_EXPORT_ROUNDS ?? 3));

/** A field of /proc/<pid>/status (VmRSS: resident now, VmHWM: peak), in MB; NaN off Linux. */
function statusMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${field}:`));
    return Number(/(\d+)/.exec(line ?? '')?.[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** Samples `pid`'s resident set every 50 ms until stopped: answers the largest sample (MB). */
function sampleRss(pid: number): () => number {
  let peak = statusMb(pid, 'VmRSS');
  const timer = setInterval(() => (peak = Math.max(peak, statusMb(pid, 'VmRSS'))), 50);
  return () => {
    clearInterval(timer);
    return Math.max(peak, statusMb(pid, 'VmRSS'));
  };
}

/** Downloads `url` whole: seconds, bytes and a digest (to check both servers wrote the same). */
function download(url: string): Promise<{ seconds: number; bytes: number; sha: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    get(url, { headers: { 'Accept-Encoding': 'identity' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      res.on('end', () => {
        if (!res.complete) return reject(new Error(`${url}: transfer cut`));
        resolve({ seconds: (performance.now() - t0) / 1000, bytes, sha: hash.digest('hex') });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

/** 500 000 bars over 200 symbols, straight into the table (setup, not measured). */
async function seedExportBars(): Promise<void> {
  const conn = await connect(DB_NAME);
  const perSymbol = EXPORT_BARS / EXPORT_SYMBOLS;
  const batch: unknown[][] = [];
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    await conn.query(
      'INSERT INTO historical_data (symbol, `date`, `open`, high, low, `close`, adj_close, volume) VALUES ?',
      [batch.splice(0)],
    );
  };
  for (let s = 0; s < EXPORT_SYMBOLS; s++) {
    for (let d = 0; d < perSymbol; d++) {
      const base = 100 + ((d * 7) % 50) + s / 100;
      const date = new Date(Date.UTC(2010, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
      batch.push([
        `SYM${String(s).padStart(3, '0')}`,
        date,
        base,
        base + 2.5,
        base - 2.25,
        base + 1.125,
        d % 3 ? null : base + 1,
        1_000_000 + d,
      ]);
      if (batch.length === 5000) await flush();
    }
  }
  await flush();
  await conn.end();
}

export async function exportSection(): Promise<void> {
  console.log(`\n== Export: ${fmt(EXPORT_BARS)} bars as CSV ==`);
  const version = await resetDatabase();
  const api: ChildProcess = await server(
    join(root, 'dist/apps/api/src/main.js'),
    API_PORT,
    {
      ...BENCH_ENV,
      DATABASE_URL: DB_URL.toString(),
      DB_MIGRATIONS_RUN: 'true',
      LOG_LEVEL: 'info',
    },
    undefined,
    API_NODE_FLAGS,
  );
  await seedExportBars();
  const bare = await server(join(root, 'dist/test/bench/bare-export-server.js'), BARE_PORT, {});
  console.log(`database: ${version}; API pid ${api.pid}, bare pid ${bare.pid}`);

  const apiUrl = `http://127.0.0.1:${API_PORT}/api/v1/data/export?format=csv`;
  const bareUrl = `http://127.0.0.1:${BARE_PORT}/export`;
  // Warm-up: both read the table once (buffer pool, JIT), untimed.
  await download(apiUrl);
  await download(bareUrl);
  const runs: Record<'api' | 'bare', { seconds: number[]; cpu: number[]; rss: number[] }> = {
    api: { seconds: [], cpu: [], rss: [] },
    bare: { seconds: [], cpu: [], rss: [] },
  };
  let digests = new Set<string>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, url, pid] of [
      ['api', apiUrl, api.pid!],
      ['bare', bareUrl, bare.pid!],
    ] as const) {
      const cpu0 = cpuMicros(pid);
      const stop = sampleRss(pid);
      const run = await download(url);
      const rss = stop();
      const cpu = (cpuMicros(pid) - cpu0) / 1e6;
      runs[name].seconds.push(run.seconds);
      runs[name].cpu.push(cpu);
      runs[name].rss.push(rss);
      digests = digests.add(run.sha);
      console.log(
        `  ${name === 'api' ? 'API ' : 'bare'} round ${round}: ${run.seconds.toFixed(2)} s, ${fmt(EXPORT_BARS / run.seconds)} bars/s, ${(run.bytes / 1e6).toFixed(1)} MB, server CPU ${cpu.toFixed(2)} s, RSS peak ${rss.toFixed(0)} MB`,
      );
    }
  }
  const apiS = median(runs.api.seconds);
  const bareS = median(runs.bare.seconds);
  const ratio = bareS / apiS;
  const rss = Math.max(...runs.api.rss);
  console.log(
    `same bytes from both: ${digests.size === 1 ? 'yes' : `NO (${digests.size} different outputs)`}`,
  );
  console.log(
    `export (median of ${ROUNDS}): API ${fmt(EXPORT_BARS / apiS)} bars/s vs bare mysql2 stream ${fmt(EXPORT_BARS / bareS)} bars/s = ${ratio.toFixed(2)}x (target >= 0.80x) ${ratio >= 0.8 ? 'PASS' : 'FAIL'}`,
  );
  console.log(
    `server CPU per export (median): API ${median(runs.api.cpu).toFixed(2)} s, bare ${median(runs.bare.cpu).toFixed(2)} s`,
  );
  console.log(
    `API server RSS while exporting (50 ms samples): peak ${rss.toFixed(0)} MB (target <= 256 MB) ${rss <= 256 ? 'PASS' : 'FAIL'}; ` +
      `VmHWM since start ${statusMb(api.pid!, 'VmHWM').toFixed(0)} MB; bare peak ${Math.max(...runs.bare.rss).toFixed(0)} MB`,
  );
  api.kill('SIGTERM');
  bare.kill('SIGTERM');
}
