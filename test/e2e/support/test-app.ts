import type { NestExpressApplication } from '@nestjs/platform-express';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { getDataSourceToken } from '@nestjs/typeorm';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { DataSource } from 'typeorm';
import type { AppOptions } from '../../../apps/api/src/app.module';
import { createApp } from '../../../apps/api/src/app.setup';
import { ResponseCache } from '../../../apps/api/src/cache/response-cache.service';
import { mysqlBaseUrl, workerDatabaseUrl } from '../../setup/mysql-test-db';

export type Dialect = 'sqlite' | 'mysql';

/** One booted AppModule on a real, migrated database, as the e2e specs use it. */
export class TestApp {
  app!: NestExpressApplication;
  http!: TestAgent;
  dataSource!: DataSource;

  /** Spool and rejected-rows files of this app, removed on stop. */
  readonly uploadDir = mkdtempSync(join(tmpdir(), 'hd-uploads-'));

  constructor(
    readonly dialect: Dialect,
    /** Configuration every start() of this app applies (a variant of the dialect). */
    readonly baseOverrides: Record<string, string> = {},
  ) {}

  async start(
    overrides: Record<string, string> = {},
    options: Omit<AppOptions, 'overrides'> = {},
  ): Promise<void> {
    const databaseUrl = this.dialect === 'mysql' ? await workerDatabaseUrl() : 'sqlite::memory:';
    this.app = await createApp({
      overrides: {
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        // Specs send far more than 100 requests a minute; the rate-limit spec turns it on.
        RATE_LIMIT_ENABLED: 'false',
        // The app shares its event loop with the spec (and the machine with another worker and
        // the database): a lag spike there is not overload, nor is a spec's burst of parallel
        // requests on a slow machine (20 places, 500 ms of waiting). The overload spec sets its bounds.
        OVERLOAD_MAX_EVENT_LOOP_LAG_MS: '0',
        OVERLOAD_MAX_IN_FLIGHT: '0',
        DATABASE_URL: databaseUrl,
        UPLOAD_DIR: this.uploadDir,
        ...this.baseOverrides,
        ...overrides,
      },
      ignoreEnvFile: true,
      ...options,
    });
    await this.app.init();
    this.http = request(this.app.getHttpServer());
    this.dataSource = this.app.get<DataSource>(getDataSourceToken());
  }

  /** Listens on a loopback port (once) and answers the base URL, for clients that need a socket. */
  async url(): Promise<string> {
    const server = this.app.getHttpServer();
    if (!server.listening) await this.app.listen(0, '127.0.0.1');
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await this.app?.close();
    rmSync(this.uploadDir, { recursive: true, force: true });
  }

  async truncate(): Promise<void> {
    // Rows deleted behind the API's back: what the response cache holds is gone too.
    await this.app.get(ResponseCache).clear();
    if (this.dialect === 'mysql') {
      await this.dataSource.query('TRUNCATE TABLE historical_data');
      await this.dataSource.query('TRUNCATE TABLE symbols');
      await this.dataSource.query('TRUNCATE TABLE uploads');
      await this.dataSource.query('TRUNCATE TABLE upload_rejected_rows');
      await this.dataSource.query('TRUNCATE TABLE idempotency_keys');
    } else {
      await this.dataSource.query('DELETE FROM historical_data');
      await this.dataSource.query('DELETE FROM symbols');
      await this.dataSource.query('DELETE FROM uploads');
      await this.dataSource.query('DELETE FROM upload_rejected_rows');
      await this.dataSource.query('DELETE FROM idempotency_keys');
      await this.dataSource.query("DELETE FROM sqlite_sequence WHERE name = 'historical_data'");
    }
  }

  /** Rows as the table holds them, for assertions on what was (not) written. */
  async rows(where = '1 = 1', params: unknown[] = []): Promise<Record<string, unknown>[]> {
    return this.dataSource.query(
      `SELECT symbol, \`date\`, \`open\`, high, low, \`close\`, adj_close, volume FROM historical_data WHERE ${where} ORDER BY symbol, \`date\``,
      params,
    );
  }

  async count(): Promise<number> {
    const [row] = await this.dataSource.query<{ n: number | string }[]>(
      'SELECT COUNT(*) AS n FROM historical_data',
    );
    return Number(row.n);
  }
}

/**
 * The configurations every e2e suite runs on: SQLite always; with TEST_MYSQL_URL, MySQL/MariaDB
 * with bulk writes through LOAD DATA LOCAL INFILE and again through multi-row INSERTs (the path
 * a MySQL 8 server with local_infile=OFF gets).
 */
const VARIANTS: { name: string; dialect: Dialect; overrides: Record<string, string> }[] = [
  { name: 'sqlite', dialect: 'sqlite', overrides: {} },
  { name: 'mysql', dialect: 'mysql', overrides: { DB_LOAD_DATA: 'auto' } },
  { name: 'mysql, INSERT path', dialect: 'mysql', overrides: { DB_LOAD_DATA: 'off' } },
];

/**
 * Runs the same suite on each variant. Each boots its own app once per file and starts every
 * test from empty tables.
 */
export function describeEachDialect(
  name: string,
  suite: (t: TestApp) => void,
  /** Configuration for this suite's apps (on top of each variant's). */
  overrides: Record<string, string> = {},
): void {
  for (const variant of VARIANTS) {
    const enabled = variant.dialect === 'sqlite' || mysqlBaseUrl() !== undefined;
    const title = enabled
      ? `${name} [${variant.name}]`
      : `${name} [${variant.name}: skipped, TEST_MYSQL_URL not set]`;
    (enabled ? describe : describe.skip)(title, () => {
      const t = new TestApp(variant.dialect, { ...variant.overrides, ...overrides });
      beforeAll(() => t.start());
      afterAll(() => t.stop());
      beforeEach(() => t.truncate());
      suite(t);
    });
  }
}

export function bar(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    symbol: 'AAPL',
    date: '2024-01-02',
    open: 187.15,
    high: 188.44,
    low: 183.89,
    close: 185.64,
    volume: 82488700,
    ...overrides,
  };
}
