/**
 * `npm run bench:ingest`: CSV ingest through HTTP vs LOAD DATA LOCAL INFILE, same file, same run.
 *   1. Generates ~1M rows (200 symbols x 5000 days, ~58 MB) once under .bench/.
 *   2. LOAD DATA LOCAL INFILE of the file into an empty copy of historical_data (the ceiling).
 *   3. The same file POSTed as text/csv to the built API into an empty historical_data.
 *   4. The same upload again (every row an update).
 * Prints rows/s for each, the ratio to LOAD DATA and the API server's peak RSS (VmHWM).
 * BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/hd_bench) is dropped and recreated.
 */
import { ChildProcess, spawn } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
} from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { once } from 'node:events';
import { BENCH_ENV, BENCH_KEY, connect } from './support';

const DB_URL = new URL(process.env.BENCH_DATABASE_URL ?? 'mysql://root@127.0.0.1:3306/hd_bench');
const DB_NAME = DB_URL.pathname.slice(1);
const SYMBOLS = 200;
const DAYS = 5000;
const PORT = Number(process.env.BENCH_PORT ?? 3902);
const root = join(__dirname, '..', '..', '..');
const file = join(root, '.bench', `ingest-${SYMBOLS}x${DAYS}.csv`);

if (!/bench|test/.test(DB_NAME))
  throw new Error(`refusing to drop "${DB_NAME}": name must contain bench or test`);

const connectLocalFiles = (database?: string) => connect(database, ['+LOCAL_FILES']);

async function generate(): Promise<void> {
  if (existsSync(file)) return;
  mkdirSync(join(root, '.bench'), { recursive: true });
  const out = createWriteStream(file);
  out.write('symbol,date,open,high,low,close,volume\n');
  const start = Date.UTC(1990, 0, 1);
  let buf = '';
  for (let s = 0; s < SYMBOLS; s++) {
    const symbol = `SYM${String(s).padStart(4, '0')}`;
    let price = 20 + (s % 50) * 3.7;
    for (let d = 0; d < DAYS; d++) {
      const date = new Date(start + d * 86_400_000).toISOString().slice(0, 10);
      const open = price;
      const close = Math.max(1, price * (1 + (((d * 7919 + s * 104729) % 2001) - 1000) / 50_000));
      const high = Math.max(open, close) * 1.0123;
      const low = Math.min(open, close) * 0.9877;
      buf += `${symbol},${date},${open.toFixed(4)},${high.toFixed(4)},${low.toFixed(4)},${close.toFixed(4)},${100_000 + ((d * 31 + s * 17) % 9_000_000)}\n`;
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

async function startApi(): Promise<ChildProcess> {
  // BENCH_CPU_PROF_DIR: the server writes a V8 CPU profile there when it exits.
  const prof = process.env.BENCH_CPU_PROF_DIR;
  const flags = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
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
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  process.on('exit', () => child.kill('SIGTERM'));
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

function upload(): Promise<{ ms: number; report: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      {
        host: '127.0.0.1',
        port: PORT,
        method: 'POST',
        path: '/api/v1/data/upload',
        headers: { 'Content-Type': 'text/csv', 'X-API-Key': BENCH_KEY },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          if (res.statusCode !== 200)
            return reject(new Error(`upload: ${res.statusCode} ${body.slice(0, 300)}`));
          resolve({
            ms: performance.now() - t0,
            report: JSON.parse(body) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  await generate();
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

  const api = await startApi(); // migrates the schema
  const db = await connectLocalFiles(DB_NAME);
  await db.query('CREATE TABLE load_baseline LIKE historical_data');
  const t0 = performance.now();
  await db.query({
    sql: "LOAD DATA LOCAL INFILE 'ingest.csv' INTO TABLE load_baseline FIELDS TERMINATED BY ',' LINES TERMINATED BY '\\n' IGNORE 1 LINES (symbol, `date`, `open`, high, low, `close`, volume)",
    infileStreamFactory: () => createReadStream(file),
  } as unknown as string);
  const loadMs = performance.now() - t0;
  await db.query('DROP TABLE load_baseline');
  await db.end();

  const first = await upload();
  const second = await upload();
  const rss = peakRssMb(api.pid!);
  api.kill('SIGTERM');

  const rate = (ms: number) => rows / (ms / 1000);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9);
  console.log(
    `LOAD DATA LOCAL INFILE (baseline)   ${fmt(rate(loadMs))} rows/s  ${(loadMs / 1000).toFixed(1)} s`,
  );
  console.log(
    `HTTP upload, empty table            ${fmt(rate(first.ms))} rows/s  ${(first.ms / 1000).toFixed(1)} s  ratio ${(loadMs / first.ms).toFixed(2)}  ` +
      `(inserted ${String(first.report.inserted)}, failed ${String(first.report.failed)})`,
  );
  console.log(
    `HTTP re-upload, all updates         ${fmt(rate(second.ms))} rows/s  ${(second.ms / 1000).toFixed(1)} s  ratio ${(loadMs / second.ms).toFixed(2)}  ` +
      `(updated ${String(second.report.updated)}, failed ${String(second.report.failed)})`,
  );
  console.log(`API server peak RSS                 ${rss.toFixed(0)} MB`);
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
