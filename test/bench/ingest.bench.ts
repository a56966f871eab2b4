/**
 * `npm run bench:ingest`: CSV ingest through HTTP vs LOAD DATA LOCAL INFILE, same file, same run.
 *   1. Generates ~1M rows (200 symbols x 5000 days, ~60 MB) once under .bench/.
 *   2. LOAD DATA LOCAL INFILE of the file into an empty copy of historical_data (the ceiling).
 *   3. The same file POSTed as text/csv to the built API into an empty historical_data, then
 *      again (every row an update whose values are the stored ones: a repeated load), then a
 *      file of the same pairs whose close and volume differ in every row (every row an update
 *      that changes the row: the "all updates" figure).
 *   4. The multi-row INSERT path (DB_LOAD_DATA=off, as on MySQL 8 with local_infile=OFF) into an
 *      empty table.
 *   5. Peak RSS (VmHWM) of a fresh API process with Node's default heap settings for 1M and 3M
 *      rows, sync and async (the 3M file is generated into a temporary directory and deleted
 *      afterwards). BENCH_SKIP_3M=1 skips 3M. Steps 2-4 run the API as `npm start` and the image
 *      do (API_NODE_FLAGS); their process's peak RSS is printed too.
 *   6. With BENCH_CLUSTER_URL (the HAProxy of `npm run cluster:up`, e.g.
 *      mysql://root@127.0.0.1:13306/hd_bench_cluster): LOAD DATA, the upload and the re-upload
 *      of the same file through the 3-node Galera cluster, each next to the single node's figure
 *      (about 2-3 minutes more; BENCH_SKIP_3M=1 shortens step 5).
 * Prints rows/s for each, the ratio to LOAD DATA and the peak RSS figures.
 * BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/hd_bench) is dropped and recreated;
 * BENCH_PORT (3902) is the API's port; BENCH_CPU_PROF_DIR makes the first API write a CPU profile.
 */
import { ChildProcess, spawn } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import {
  API_NODE_FLAGS,
  BENCH_ENV,
  BENCH_KEY,
  CLUSTER_URL,
  connect,
  resetDatabase,
} from './support';

const DB_URL = new URL(process.env.BENCH_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/hd_bench');
const DB_NAME = DB_URL.pathname.slice(1);
const SYMBOLS = 200;
const DAYS = 5000;
const PORT = Number(process.env.BENCH_PORT ?? 3902);
const root = join(__dirname, '..', '..', '..');
const file = join(root, '.bench', `ingest-${SYMBOLS}x${DAYS}.csv`);
/** The same pairs, every row's close and volume different (generate's `changed`). */
const changedFile = join(root, '.bench', `ingest-${SYMBOLS}x${DAYS}-changed.csv`);
const SKIP_3M = process.env.BENCH_SKIP_3M === '1';

if (!/bench|test/.test(DB_NAME))
  throw new Error(`refusing to drop "${DB_NAME}": name must contain bench or test`);

const connectLocalFiles = (database?: string) => connect(database, ['+LOCAL_FILES']);

/**
 * The bench file: `symbols` x DAYS valid bars. `changed`: the same pairs and opens, highs and
 * lows, with every close 0.01 % higher (still within high and low) and every volume 7 more.
 */
async function generate(path: string, symbols: number, changed = false): Promise<void> {
  if (existsSync(path)) return;
  mkdirSync(join(path, '..'), { recursive: true });
  const out = createWriteStream(path);
  out.write('symbol,date,open,high,low,close,volume\n');
  const start = Date.UTC(1990, 0, 1);
  let buf = '';
  for (let s = 0; s < symbols; s++) {
    const symbol = `SYM${String(s).padStart(4, '0')}`;
    let price = 20 + (s % 50) * 3.7;
    for (let d = 0; d < DAYS; d++) {
      const date = new Date(start + d * 86_400_000).toISOString().slice(0, 10);
      const open = price;
      const close = Math.max(1, price * (1 + (((d * 7919 + s * 104729) % 2001) - 1000) / 50_000));
      const high = Math.max(open, close) * 1.0123;
      const low = Math.min(open, close) * 0.9877;
      const volume = 100_000 + ((d * 31 + s * 17) % 9_000_000) + (changed ? 7 : 0);
      buf += `${symbol},${date},${open.toFixed(4)},${high.toFixed(4)},${low.toFixed(4)},${(changed ? close * 1.0001 : close).toFixed(4)},${volume}\n`;
      price = close;
      if (buf.length > 1 << 20) {
        if (!out.write(buf)) await once(out, 'drain');
        buf = '';
      }
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

/**
 * Starts the built API. `nodeFlags`: as `npm start` and the image run it unless told otherwise
 * (the peak RSS runs use Node's defaults, as the memory target is stated for them).
 */
async function startApi(
  env: Record<string, string> = {},
  profile = false,
  nodeFlags: string[] = API_NODE_FLAGS,
): Promise<ChildProcess> {
  // BENCH_CPU_PROF_DIR: the server writes a V8 CPU profile there when it exits.
  const prof = profile ? process.env.BENCH_CPU_PROF_DIR : undefined;
  const flags = [...nodeFlags, ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])];
  const child = spawn(process.execPath, [...flags, join(root, 'dist/apps/api/src/main.js')], {
    env: {
      ...process.env,
      PORT: String(PORT),
      HOST: '127.0.0.1',
      ...BENCH_ENV,
      DATABASE_URL: DB_URL.toString(),
      DB_MIGRATIONS_RUN: 'true',
      UPLOAD_MAX_BYTES: String(512 * 1024 * 1024),
      UPLOAD_DIR: join(root, '.bench', 'uploads'),
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const kill = (): boolean => child.kill('SIGTERM');
  process.on('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/health/ready`)).ok) return child;
    } catch {
      /* starting */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('API did not start');
}

/** Stops the API and waits for it to exit (a CPU profile is written on exit). */
async function stopApi(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

function upload(
  path = file,
  mode: 'sync' | 'async' = 'sync',
): Promise<{ ms: number; report: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port: PORT,
        method: 'POST',
        path: `/api/v1/data/upload${mode === 'async' ? '?async=true' : ''}`,
        headers: { 'Content-Type': 'text/csv', 'X-API-Key': BENCH_KEY },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          if (res.statusCode !== (mode === 'async' ? 202 : 200))
            return reject(new Error(`upload: ${res.statusCode} ${body.slice(0, 300)}`));
          resolve({
            ms: performance.now() - t0,
            report: JSON.parse(body) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', reject);
    createReadStream(path).pipe(req);
  });
}

/** An async upload, polled until it finished; ms from POST to the finished status. */
async function uploadAsync(path: string): Promise<{ ms: number; report: Record<string, unknown> }> {
  const t0 = performance.now();
  const { report: accepted } = await upload(path, 'async');
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const res = await fetch(`http://127.0.0.1:${PORT}${String(accepted.statusUrl)}`, {
      headers: { 'X-API-Key': BENCH_KEY },
    });
    const view = (await res.json()) as { status: string; report: Record<string, unknown> };
    if (view.status === 'completed') return { ms: performance.now() - t0, report: view.report };
    if (view.status !== 'queued' && view.status !== 'processing')
      throw new Error(`async upload ended ${view.status}`);
  }
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/**
 * The ceiling: LOAD DATA LOCAL INFILE of the file into an empty copy of historical_data, in one
 * transaction (on Galera an autocommit LOAD DATA can be taken for done without a count, see
 * docs/OPERATIONS.md); answers ms.
 */
async function loadBaseline(db: Awaited<ReturnType<typeof connect>>): Promise<number> {
  await db.query('CREATE TABLE load_baseline LIKE historical_data');
  const t0 = performance.now();
  await db.query('BEGIN');
  const [result] = (await db.query({
    sql: "LOAD DATA LOCAL INFILE 'ingest.csv' INTO TABLE load_baseline FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' IGNORE 1 LINES (symbol, `date`, `open`, high, low, `close`, volume)",
    infileStreamFactory: () => createReadStream(file),
  } as unknown as string)) as unknown as [{ affectedRows?: number }];
  await db.query('COMMIT');
  const ms = performance.now() - t0;
  if (result.affectedRows !== SYMBOLS * DAYS)
    throw new Error(`LOAD DATA stored ${result.affectedRows} rows of ${SYMBOLS * DAYS}`);
  await db.query('DROP TABLE load_baseline');
  return ms;
}

async function main(): Promise<void> {
  await generate(file, SYMBOLS);
  await generate(changedFile, SYMBOLS, true);
  const rows = SYMBOLS * DAYS;
  const mb = statSync(file).size / 1e6;
  const admin = await connectLocalFiles();
  const [[{ v }]] = (await admin.query('SELECT VERSION() AS v')) as unknown as [[{ v: string }]];
  await admin.query(`DROP DATABASE IF EXISTS \`${DB_NAME}\``);
  await admin.query(`CREATE DATABASE \`${DB_NAME}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  console.log(
    `Ingest benchmark on ${v}: ${rows.toLocaleString('en-US')} rows, ${mb.toFixed(1)} MB (${file})\n`,
  );

  let api = await startApi({}, true); // migrates the schema
  const db = await connectLocalFiles(DB_NAME);
  const empty = async (): Promise<void> => {
    for (const table of ['historical_data', 'symbols', 'uploads'])
      await db.query(`TRUNCATE TABLE ${table}`);
  };
  const loadMs = await loadBaseline(db);

  const rate = (ms: number): number => rows / (ms / 1000);
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(9);
  const line = (label: string, ms: number, extra: string): void =>
    console.log(
      `${label.padEnd(36)}${fmt(rate(ms))} rows/s  ${(ms / 1000).toFixed(1).padStart(5)} s  ratio ${(loadMs / ms).toFixed(2)}  ${extra}`,
    );
  console.log(
    `${'LOAD DATA LOCAL INFILE (baseline)'.padEnd(36)}${fmt(rate(loadMs))} rows/s  ${(loadMs / 1000).toFixed(1).padStart(5)} s`,
  );

  const first = await upload();
  const rssFirst = peakRssMb(api.pid!);
  line(
    'HTTP upload, empty table',
    first.ms,
    `(inserted ${String(first.report.inserted)}, failed ${String(first.report.failed)})`,
  );
  const second = await upload();
  line(
    'HTTP re-upload, same file again',
    second.ms,
    `(updated ${String(second.report.updated)}, failed ${String(second.report.failed)})`,
  );
  const changed = await upload(changedFile);
  line(
    'HTTP re-upload, all rows changed',
    changed.ms,
    `(updated ${String(changed.report.updated)}, failed ${String(changed.report.failed)})`,
  );
  const rssBoth = peakRssMb(api.pid!);
  await stopApi(api);

  await empty();
  api = await startApi({ DB_LOAD_DATA: 'off' });
  const insert = await upload();
  line(
    'HTTP upload, INSERT path (DB_LOAD_DATA=off)',
    insert.ms,
    `(inserted ${String(insert.report.inserted)}, failed ${String(insert.report.failed)})`,
  );
  await stopApi(api);

  console.log(
    `${'Peak RSS, the API above (npm start)'.padEnd(36)}1M sync ${rssFirst.toFixed(0)} MB (after both re-uploads too: ${rssBoth.toFixed(0)} MB)`,
  );
  const rss: string[] = [];
  const fresh = async (path: string, mode: 'sync' | 'async'): Promise<number> => {
    await empty();
    api = await startApi({}, false, []);
    const r = mode === 'sync' ? await upload(path) : await uploadAsync(path);
    if (Number(r.report.failed) !== 0) throw new Error(`${mode} upload failed rows`);
    const peak = peakRssMb(api.pid!);
    await stopApi(api);
    return peak;
  };
  rss.push(`1M sync ${(await fresh(file, 'sync')).toFixed(0)} MB`);
  rss.push(`1M async ${(await fresh(file, 'async')).toFixed(0)} MB`);
  if (!SKIP_3M) {
    const dir = mkdtempSync(join(tmpdir(), 'hd-bench-3m-'));
    try {
      const big = join(dir, 'ingest-3m.csv');
      await generate(big, SYMBOLS * 3);
      rss.push(`3M sync ${(await fresh(big, 'sync')).toFixed(0)} MB`);
      rss.push(`3M async ${(await fresh(big, 'async')).toFixed(0)} MB`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  await db.end();
  console.log(`${'Peak RSS, fresh API, default heap'.padEnd(36)}${rss.join('; ')}`);
  if (CLUSTER_URL) await cluster({ load: loadMs, upload: first.ms, reupload: second.ms });
  process.exit(0);
}

/**
 * 6. BENCH_CLUSTER_URL: the same file through the 3-node Galera cluster behind HAProxy — LOAD
 * DATA, the HTTP upload into an empty table and the re-upload — each next to the single node's
 * figure from this run. Bounded by the file (1M rows, chunks of 50k: one write set each).
 */
async function cluster(single: { load: number; upload: number; reupload: number }): Promise<void> {
  const url = CLUSTER_URL!;
  const name = url.pathname.slice(1);
  const version = await resetDatabase(url);
  console.log(`\nThrough the Galera cluster: ${version} behind HAProxy (${url.host})`);
  const api = await startApi({ DATABASE_URL: url.toString() }); // migrates the schema
  const db = await connect(name, ['+LOCAL_FILES'], url);
  const loadMs = await loadBaseline(db);
  await db.end();
  const first = await upload();
  const second = await upload();
  await stopApi(api);
  const rows = SYMBOLS * DAYS;
  const line = (label: string, ms: number, singleMs: number, extra = ''): void =>
    console.log(
      `${label.padEnd(36)}${Math.round(rows / (ms / 1000))
        .toLocaleString('en-US')
        .padStart(9)} rows/s  ${(ms / 1000).toFixed(1).padStart(5)} s  ` +
        `single node ${Math.round(rows / (singleMs / 1000)).toLocaleString('en-US')} rows/s, cluster/single ${(singleMs / ms).toFixed(2)}${extra}`,
    );
  line('LOAD DATA LOCAL INFILE (cluster)', loadMs, single.load);
  line(
    'HTTP upload, empty table (cluster)',
    first.ms,
    single.upload,
    `, ratio to cluster LOAD DATA ${(loadMs / first.ms).toFixed(2)} (inserted ${String(first.report.inserted)}, failed ${String(first.report.failed)})`,
  );
  line(
    'HTTP re-upload (cluster)',
    second.ms,
    single.reupload,
    ` (updated ${String(second.report.updated)}, failed ${String(second.report.failed)})`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
