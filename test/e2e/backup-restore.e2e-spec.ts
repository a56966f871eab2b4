import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DataSource } from 'typeorm';
import { mysqlBaseUrl, workerDatabaseUrl } from '../setup/mysql-test-db';
import { runProcess } from './support/run-process';
import { TestApp } from './support/test-app';

/**
 * scripts/backup.sh and scripts/restore.sh against the real MariaDB/MySQL: load data through the
 * API, back up, wipe the database, restore, and compare every table's row count and checksum.
 */
const root = join(__dirname, '..', '..');
const hasDump = ['mysqldump', 'mariadb-dump'].some(
  (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0,
);
const enabled = mysqlBaseUrl() !== undefined && hasDump;
const title = enabled
  ? 'backup and restore [mysql]'
  : `backup and restore [skipped: ${mysqlBaseUrl() ? 'mysqldump not installed' : 'TEST_MYSQL_URL not set'}]`;

const TABLES = [
  'historical_data',
  'symbols',
  'uploads',
  'upload_rejected_rows',
  'idempotency_keys',
  'migrations',
];

const script = (name: string, args: string[], env: NodeJS.ProcessEnv) =>
  runProcess('bash', [join(root, 'scripts', name), ...args], { ...process.env, ...env });

/** A CSV of `days` daily bars for each symbol, deterministic. */
function csv(symbols: string[], days: number): string {
  const lines = ['symbol,date,open,high,low,close,adj_close,volume'];
  for (const [s, symbol] of symbols.entries()) {
    for (let d = 0; d < days; d++) {
      const date = new Date(Date.UTC(2000, 0, 3) + d * 86_400_000).toISOString().slice(0, 10);
      const open = 10 + s + ((d * 37) % 100) / 7;
      lines.push(
        `${symbol},${date},${open.toFixed(4)},${(open + 1.25).toFixed(4)},${(open - 0.75).toFixed(4)},${(open + 0.5).toFixed(4)},${(open + 0.25).toFixed(4)},${1000 + d * 13}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

(enabled ? describe : describe.skip)(title, () => {
  const app = new TestApp('mysql');
  let databaseUrl: string;
  let dir: string;
  let ds: DataSource;

  /** Row count and a SHA-256 over every row (all columns, primary-key order) of each table. */
  async function fingerprint(): Promise<Record<string, { rows: number; sha256: string }>> {
    const out: Record<string, { rows: number; sha256: string }> = {};
    for (const table of TABLES) {
      const rows = await ds.query<Record<string, unknown>[]>(
        `SELECT * FROM \`${table}\` ORDER BY 1`,
      );
      const [{ checksum }] = await ds.query<{ checksum: string }[]>(
        `SELECT CAST(COALESCE(SUM(CRC32(CONCAT_WS('|', ${await columns(table)}))), 0) AS CHAR) AS checksum FROM \`${table}\``,
      );
      out[table] = {
        rows: rows.length,
        sha256: createHash('sha256').update(JSON.stringify(rows)).update(checksum).digest('hex'),
      };
    }
    return out;
  }
  async function columns(table: string): Promise<string> {
    const cols = await ds.query<{ Field: string }[]>(`SHOW COLUMNS FROM \`${table}\``);
    return cols.map((c) => `COALESCE(\`${c.Field}\`, '<null>')`).join(', ');
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hd-backup-'));
    databaseUrl = await workerDatabaseUrl('backup');
    await app.start({ DATABASE_URL: databaseUrl });
    ds = new DataSource({
      type: 'mysql',
      url: databaseUrl,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await app.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up, survives a wipe, and restores every row exactly', async () => {
    // Data as users load it: a CSV upload (3 symbols x 1500 days), a JSON write with an
    // idempotency key, and an upload record for each.
    await app.http
      .post('/api/v1/data/upload')
      .attach('file', Buffer.from(csv(['AAA', 'BBB', 'CCC'], 1500)), 'bars.csv')
      .expect(200);
    await app.http
      .post('/api/v1/data')
      .set('Idempotency-Key', 'backup-spec-1')
      .send([
        { symbol: 'ZZZ', date: '2024-01-02', open: 1, high: 2, low: 0.5, close: 1.5, volume: 10 },
      ])
      .expect(200);
    const before = await fingerprint();
    expect(before.historical_data.rows).toBe(4501);
    expect(before.uploads.rows).toBeGreaterThanOrEqual(1);
    expect(before.idempotency_keys.rows).toBe(1);
    expect(before.migrations.rows).toBeGreaterThanOrEqual(3);

    const backup = await script('backup.sh', [dir], { DATABASE_URL: databaseUrl });
    expect(backup.stderr).toMatch(/backup: .* written to/);
    expect(backup.status).toBe(0);
    const file = backup.stdout.trim();
    expect(basename(file)).toMatch(/^historical-data_.+_\d{8}T\d{6}Z\.sql\.gz$/);
    expect(existsSync(`${file}.sha256`)).toBe(true);
    expect(existsSync(`${file}.partial`)).toBe(false);
    // Compressed: far smaller than the rows it holds.
    expect(readFileSync(file).length).toBeLessThan(before.historical_data.rows * 40);

    // Wipe: every table gone, as after losing the database.
    await app.stop();
    for (const table of TABLES) await ds.query(`DROP TABLE \`${table}\``);
    expect(await ds.query('SHOW TABLES')).toEqual([]);

    const restore = await script('restore.sh', [file, '--yes'], { DATABASE_URL: databaseUrl });
    expect(restore.stderr).toMatch(/restored into/);
    expect(restore.status).toBe(0);
    expect(await fingerprint()).toEqual(before);

    // The service starts on the restored database (nothing left to migrate) and serves the rows.
    await app.start({ DATABASE_URL: databaseUrl });
    const res = await app.http.get('/api/v1/data?symbol=BBB&limit=1').expect(200);
    expect((res.body as { data: { symbol: string }[] }).data).toEqual([
      expect.objectContaining({ symbol: 'BBB', date: '2000-01-03' }),
    ]);
  });

  it('refuses a damaged or altered archive before touching the database', async () => {
    const backup = await script('backup.sh', [dir], { DATABASE_URL: databaseUrl });
    expect(backup.status).toBe(0);
    const file = backup.stdout.trim();
    const before = await fingerprint();

    const truncated = join(dir, 'truncated.sql.gz');
    copyFileSync(file, truncated);
    truncateSync(truncated, Math.floor(readFileSync(file).length / 2));
    const broken = await script('restore.sh', [truncated, '--yes'], { DATABASE_URL: databaseUrl });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('not a sound gzip archive; nothing was changed');

    writeFileSync(`${file}.sha256`, `${'0'.repeat(64)}  ${basename(file)}\n`);
    const altered = await script('restore.sh', [file, '--yes'], { DATABASE_URL: databaseUrl });
    expect(altered.status).toBe(1);
    expect(altered.stderr).toContain('does not match');

    const unconfirmed = await script('restore.sh', [truncated], { DATABASE_URL: databaseUrl });
    expect(unconfirmed.status).toBe(1);
    expect(await fingerprint()).toEqual(before);
  });

  it('fails clearly, leaving no file behind, when the database cannot be reached', async () => {
    const url = new URL(databaseUrl);
    url.port = '1';
    const out = join(dir, 'unreachable');
    const backup = await script('backup.sh', [out], { DATABASE_URL: url.toString() });
    expect(backup.status).not.toBe(0);
    expect(backup.stderr).toMatch(/Can't connect|Got error|Lost connection/i);
    expect(spawnSync('ls', [out], { encoding: 'utf8' }).stdout.trim()).toBe('');
  });
});
