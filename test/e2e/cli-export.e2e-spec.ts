import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExportCommand } from '../../apps/cli/src/export.command';
import { mysqlBaseUrl, workerDatabaseUrl } from '../setup/mysql-test-db';
import { bar, TestApp } from './support/test-app';

/**
 * The CLI's export and the route share one exporter: for the same filter they write the same
 * bytes. The app and the CLI use the same database (a file for SQLite), as an operator's would.
 */
describe.each([
  ['sqlite' as const, true],
  ['mysql' as const, mysqlBaseUrl() !== undefined],
])('cli export [%s]', (dialect, enabled) => {
  const dir = mkdtempSync(join(tmpdir(), 'hd-cli-export-'));
  const t = new TestApp(dialect);
  const saved = { ...process.env };
  const run = enabled ? it : it.skip;

  beforeAll(async () => {
    if (!enabled) return;
    const url =
      dialect === 'sqlite' ? `sqlite:${join(dir, 'db.sqlite')}` : await workerDatabaseUrl();
    await t.start({ DATABASE_URL: url });
    await t.truncate();
    process.env.DATABASE_URL = url;
    process.env.LOG_LEVEL = 'silent';
    await t.http
      .post('/api/v1/data')
      .set('Content-Type', 'application/json')
      .send([
        bar(),
        bar({ date: '2024-01-03', adjClose: 184.5 }),
        bar({ symbol: 'MSFT', open: 370, high: 375, low: 365, close: 371 }),
        bar({ symbol: '^GSPC', open: 4700, high: 4750, low: 4690, close: 4742.83 }),
      ])
      .expect(200);
  });
  afterAll(async () => {
    process.env = saved;
    if (enabled) await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());

  type Flags = { symbols?: string[]; from?: string; to?: string };
  run.each<[string, string, Flags]>([
    [
      'csv',
      'symbols=AAPL,MSFT&start_date=2024-01-02&end_date=2024-01-03',
      { symbols: ['AAPL', 'MSFT'], from: '2024-01-02', to: '2024-01-03' },
    ],
    ['ndjson', 'symbol=%5EGSPC', { symbols: ['^GSPC'] }],
    ['csv', '', {}],
  ])('writes the bytes the route serves (%s, %s)', async (format, query, flags) => {
    const out = join(dir, `export-${format}-${query.length}.out`);
    await new ExportCommand().run([], { ...flags, format: format as 'csv' | 'ndjson', out });
    const route = await t.http
      .get(`/api/v1/data/export?format=${format}${query ? `&${query}` : ''}`)
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    const written = readFileSync(out);
    expect(written.length).toBeGreaterThan(0);
    expect(written.equals(route.body as Buffer)).toBe(true);
  });
});
