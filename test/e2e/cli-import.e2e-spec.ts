import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostname, userInfo } from 'node:os';
import { DataSource } from 'typeorm';
import { EXIT_USAGE, ImportCommand } from '../../apps/cli/src/import.command';
import { SeedDemoCommand } from '../../apps/cli/src/seed-demo.command';
import { mysqlBaseUrl, workerDatabaseUrl } from '../setup/mysql-test-db';
import { runProcess } from './support/run-process';

const CLI = join(__dirname, '../../dist/apps/cli/src/main.js');

const fixture = (name: string) => join(__dirname, '..', 'fixtures', name);

/** The CLI reads its configuration from the environment, as an operator's shell would set it. */
const targets: [string, () => Promise<string>][] = [
  [
    'sqlite',
    () => Promise.resolve(`sqlite:${join(mkdtempSync(join(tmpdir(), 'hd-cli-')), 'db.sqlite')}`),
  ],
  ...(mysqlBaseUrl()
    ? ([['mysql', () => workerDatabaseUrl('cli')]] as [string, () => Promise<string>][])
    : []),
];

describe.each(targets)('cli import and seed-demo [%s]', (_name, databaseUrl) => {
  let out: string[];
  let err: string[];
  let dir: string;
  const saved = { ...process.env };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hd-cli-files-'));
    process.env.DATABASE_URL = await databaseUrl();
    process.env.UPLOAD_DIR = join(dir, 'uploads');
    process.env.LOG_LEVEL = 'silent';
  });
  afterAll(() => {
    process.env = saved;
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    out = [];
    err = [];
    jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    jest
      .spyOn(console, 'error')
      .mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
    jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((s: string | Uint8Array) => !!err.push(String(s)));
    process.exitCode = undefined;
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.exitCode = undefined;
  });

  type UploadRow = { source: string; status: string; client: string; client_ip: string | null };
  const rows = async (): Promise<{
    n: number;
    uploads: UploadRow[];
    summary: unknown[];
    truth: unknown[];
  }> => {
    const { buildDataSourceOptions } = await import('@app/database');
    const { loadConfig } = await import('@app/config');
    const ds = new DataSource(
      buildDataSourceOptions(loadConfig({ DATABASE_URL: process.env.DATABASE_URL }).database),
    );
    await ds.initialize();
    try {
      const [{ n }] = await ds.query<{ n: number }[]>('SELECT COUNT(*) AS n FROM historical_data');
      const uploads = await ds.query<UploadRow[]>(
        'SELECT source, status, client, client_ip FROM uploads ORDER BY created_at',
      );
      // The symbols summary, and what it must say: the CLI keeps it exact like the API does.
      const summary = await ds.query<unknown[]>(
        'SELECT symbol, first_date, last_date, bars FROM symbols ORDER BY symbol',
      );
      const truth = await ds.query<unknown[]>(
        'SELECT symbol, MIN(`date`) AS first_date, MAX(`date`) AS last_date, COUNT(*) AS bars FROM historical_data GROUP BY symbol ORDER BY symbol',
      );
      return { n: Number(n), uploads, summary, truth };
    } finally {
      await ds.destroy();
    }
  };

  it('imports a file through the upload pipeline, prints the report, exits 0, and records the upload', async () => {
    await new ImportCommand().run([fixture('yahoo-aapl.csv')], { symbol: 'AAPL' });
    expect(process.exitCode).toBeUndefined();
    expect(out.join('\n')).toMatch(/4 rows in .*: 4 inserted, 0 updated, 0 skipped, 0 failed\./);
    expect(err.join('')).toMatch(/progress: .* rows/);
    const { n, uploads, summary, truth } = await rows();
    expect(n).toBeGreaterThanOrEqual(4);
    expect(summary).toContainEqual(expect.objectContaining({ symbol: 'AAPL' }));
    expect(summary).toEqual(truth);
    // The audit names the operator and the machine that ran the import.
    expect(uploads.at(-1)).toMatchObject({
      source: 'cli',
      status: 'completed',
      client: `cli:${userInfo().username}@${hostname()}`,
      client_ip: null,
    });
  });

  it('exits 2 when rows were rejected, listing them by line; 1 when the header is unusable', async () => {
    await new ImportCommand().run([fixture('bad-rows.csv')], {});
    expect(process.exitCode).toBe(2);
    expect(out.join('\n')).toContain('line 3, date: INVALID_DATE');
    process.exitCode = undefined;
    await new ImportCommand().run([fixture('yahoo-aapl.csv')], {});
    expect(process.exitCode).toBe(1);
    expect(err.join('\n')).toContain('Missing required column(s): symbol');
  });

  it('--dry-run writes nothing; --json prints the report as JSON', async () => {
    const before = (await rows()).n;
    await new ImportCommand().run([fixture('stooq-daily.csv')], { dryRun: true, json: true });
    const report = JSON.parse(out.join('\n')) as { rows: number; inserted: number };
    expect(report).toMatchObject({ rows: 3, inserted: 3 });
    expect((await rows()).n).toBe(before);
  });

  it('seed-demo writes a reproducible CSV, or loads the database', async () => {
    const file = join(dir, 'demo.csv');
    await new SeedDemoCommand().run([], { rows: 600, symbols: 3, seed: 7, out: file });
    const csv = readFileSync(file, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('symbol,date,open,high,low,close,adj_close,volume');
    expect(csv).toHaveLength(601);
    await new ImportCommand().run([file], { onConflict: 'error' });
    expect(out.join('\n')).toMatch(/600 inserted.* 0 failed/);
    const before = (await rows()).n;
    await new SeedDemoCommand().run([], { rows: 1000, symbols: 2 });
    expect((await rows()).n).toBeGreaterThan(before);
  });

  it('checks its options before the file: --symbol "BRK B" is one usage error, exit 64, nothing recorded', async () => {
    const before = (await rows()).uploads.length;
    await new ImportCommand().run([fixture('yahoo-aapl.csv')], { symbol: 'BRK B' });
    expect(process.exitCode).toBe(EXIT_USAGE);
    expect(err.join('\n')).toContain('Usage error: --symbol "BRK B"');
    expect(err.join('\n')).toContain('BRK.B');
    expect(err.join('\n')).not.toContain('INVALID_SYMBOL');
    expect(out.join('\n')).not.toMatch(/rows in/);
    expect((await rows()).uploads).toHaveLength(before);
    process.exitCode = undefined;
    await new ImportCommand().run([fixture('yahoo-aapl.csv')], { symbol: 'brk.b' });
    expect(process.exitCode).toBeUndefined();
    expect((await rows()).uploads).toHaveLength(before + 1);
  });

  it('the built CLI exits 64 on a bad option value, naming it, before opening the file', async () => {
    const result = await runProcess(process.execPath, [
      CLI,
      'import',
      '/nonexistent.csv',
      '--symbol',
      'BRK B',
    ]);
    expect(result.stderr).toContain('Usage error: --symbol "BRK B"');
    expect(result.stderr).not.toContain('ENOENT');
    expect(result.status).toBe(EXIT_USAGE);
    // A CLI start-up on a busy machine.
  }, 60_000);
});
