import { loadConfig } from '@app/config';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { MigrateCommand } from '../../apps/cli/src/migrate.command';
import { mysqlBaseUrl, workerDatabaseUrl } from '../setup/mysql-test-db';

/** Every table the migrations create, in the order tables() lists them. */
const ALL_TABLES = [
  'historical_data',
  'idempotency_keys',
  'migrations',
  'symbols',
  'upload_rejected_rows',
  'uploads',
];

async function tables(config: ReturnType<typeof loadConfig>): Promise<string[]> {
  const { buildDataSourceOptions } = await import('@app/database');
  const ds = new DataSource(buildDataSourceOptions({ ...config.database, migrationsRun: false }));
  await ds.initialize();
  try {
    const runner = ds.createQueryRunner();
    const names = [];
    for (const name of ALL_TABLES) if (await runner.hasTable(name)) names.push(name);
    await runner.release();
    return names;
  } finally {
    await ds.destroy();
  }
}

async function query(config: ReturnType<typeof loadConfig>, sql: string): Promise<unknown> {
  const { buildDataSourceOptions } = await import('@app/database');
  const ds = new DataSource(buildDataSourceOptions({ ...config.database, migrationsRun: false }));
  await ds.initialize();
  try {
    return await ds.query(sql);
  } finally {
    await ds.destroy();
  }
}

describe('cli migrate', () => {
  let log: jest.SpyInstance;
  beforeEach(() => {
    log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => log.mockRestore());

  const scenario = async (databaseUrl: string) => {
    const config = loadConfig({ DATABASE_URL: databaseUrl });
    const cli = new MigrateCommand(config);
    for (let i = 0; i < 7; i++) await cli.run(['revert']); // a clean slate whatever the database held
    await cli.run(['show']);
    expect(log).toHaveBeenCalledWith('[ ] CreateHistoricalData1732000000000');
    expect(log).toHaveBeenLastCalledWith('[ ] AddUploadOwnership1732000000013');

    await cli.run(['run']);
    expect(log).toHaveBeenLastCalledWith(
      'Applied 6 migration(s): CreateHistoricalData1732000000000, CreateUploads1732000000001, CreateIdempotencyKeys1732000000002, AddUploadsClientIp1732000000003, CreateSymbols1732000000011, AddUploadOwnership1732000000013',
    );
    expect(await tables(config)).toEqual(ALL_TABLES);
    await cli.run([]);
    expect(log).toHaveBeenLastCalledWith('Database is up to date.');
    await cli.run(['show']);
    expect(log).toHaveBeenCalledWith('[X] CreateHistoricalData1732000000000');
    expect(log).toHaveBeenLastCalledWith('[X] AddUploadOwnership1732000000013');

    // Upload ownership: the rejected-rows table and the owner/heartbeat columns go, and come back.
    await cli.run(['revert']);
    expect(log).toHaveBeenLastCalledWith('Reverted AddUploadOwnership1732000000013.');
    expect(await tables(config)).not.toContain('upload_rejected_rows');
    await cli.run(['run']);
    await query(
      config,
      "INSERT INTO uploads (id, status, mode, source, options, owner_instance, heartbeat_at) VALUES ('00000000-0000-0000-0000-00000000000c', 'processing', 'async', 'csv', '{}', 'api-1', '2024-01-02 03:04:05.000000')",
    );
    expect(await query(config, 'SELECT owner_instance FROM uploads')).toEqual([
      { owner_instance: 'api-1' },
    ]);
    await query(config, 'DELETE FROM uploads');
    await cli.run(['revert']);

    // The symbols summary starts from the bars already stored; its down() drops it.
    await cli.run(['revert']);
    expect(log).toHaveBeenLastCalledWith('Reverted CreateSymbols1732000000011.');
    expect(await tables(config)).not.toContain('symbols');
    await query(
      config,
      "INSERT INTO historical_data (symbol, `date`, `open`, high, low, `close`, volume) VALUES ('BBB', '2023-12-29', 1, 2, 1, 1, 1), ('AAA', '2024-01-05', 1, 2, 1, 1, 1), ('AAA', '2024-01-02', 1, 2, 1, 1, 1)",
    );
    await cli.run(['run']);
    expect(
      await query(
        config,
        'SELECT symbol, first_date, last_date, bars FROM symbols ORDER BY symbol',
      ),
    ).toEqual([
      { symbol: 'AAA', first_date: '2024-01-02', last_date: '2024-01-05', bars: 2 },
      { symbol: 'BBB', first_date: '2023-12-29', last_date: '2023-12-29', bars: 1 },
    ]);
    await query(config, 'DELETE FROM historical_data');
    await cli.run(['revert']); // AddUploadOwnership
    await cli.run(['revert']); // CreateSymbols

    // Uploads recorded before client_ip existed held the IP in client: it moves across, and back.
    await cli.run(['revert']);
    expect(log).toHaveBeenLastCalledWith('Reverted AddUploadsClientIp1732000000003.');
    await query(
      config,
      "INSERT INTO uploads (id, status, mode, source, client, options) VALUES ('00000000-0000-0000-0000-00000000000a', 'completed', 'sync', 'csv', '10.0.0.7', '{}'), ('00000000-0000-0000-0000-00000000000b', 'completed', 'sync', 'cli', 'cli', '{}')",
    );
    await cli.run(['run']);
    expect(
      await query(config, 'SELECT source, client, client_ip FROM uploads ORDER BY id'),
    ).toEqual([
      { source: 'csv', client: null, client_ip: '10.0.0.7' },
      { source: 'cli', client: 'cli', client_ip: null },
    ]);
    await cli.run(['revert']); // AddUploadOwnership, applied again by the run above
    await cli.run(['revert']); // CreateSymbols, likewise
    await cli.run(['revert']);
    expect(await query(config, 'SELECT source, client FROM uploads ORDER BY id')).toEqual([
      { source: 'csv', client: '10.0.0.7' },
      { source: 'cli', client: 'cli' },
    ]);
    await query(config, 'DELETE FROM uploads');

    await cli.run(['revert']);
    expect(log).toHaveBeenLastCalledWith('Reverted CreateIdempotencyKeys1732000000002.');
    expect(await tables(config)).toEqual(['historical_data', 'migrations', 'uploads']);
    await cli.run(['revert']);
    expect(log).toHaveBeenLastCalledWith('Reverted CreateUploads1732000000001.');
    expect(await tables(config)).toEqual(['historical_data', 'migrations']);
    await cli.run(['revert']);
    expect(log).toHaveBeenLastCalledWith('Reverted CreateHistoricalData1732000000000.');
    expect(await tables(config)).toEqual(['migrations']);
    await cli.run(['revert']);
    expect(log).toHaveBeenLastCalledWith('Nothing to revert.');
    await expect(cli.run(['sideways'])).rejects.toThrow(/Unknown action "sideways"/);
    await cli.run(['run']);
  };

  it('runs, shows and reverts on a SQLite file, creating its directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hd-migrate-'));
    try {
      await scenario(`sqlite:${join(dir, 'nested', 'db.sqlite')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  (mysqlBaseUrl() ? it : it.skip)('runs, shows and reverts on MySQL/MariaDB', async () => {
    const url = new URL(await workerDatabaseUrl());
    url.pathname = `${url.pathname}_cli`;
    const { withServer } = await import('../setup/mysql-test-db');
    await withServer((c) => c.query(`CREATE DATABASE IF NOT EXISTS \`${url.pathname.slice(1)}\``));
    await scenario(url.toString());
  });
});
