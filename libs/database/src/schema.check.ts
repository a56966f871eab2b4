import { APP_CONFIG, AppConfig } from '@app/config';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MIGRATIONS_TABLE } from './data-source.options';

/** The database lacks migrations this release needs, and the service was told not to apply them. */
export class SchemaBehindError extends Error {
  constructor(readonly pending: string[]) {
    super(
      `Database schema is behind this release: ${pending.length} migration(s) not applied ` +
        `(${pending.join(', ')}) and DB_MIGRATIONS_RUN=false, so the service does not apply them. ` +
        'Run `historical-data migrate run` (or the migration Job) against this DATABASE_URL, ' +
        'or set DB_MIGRATIONS_RUN=true.',
    );
    this.name = 'SchemaBehindError';
  }
}

/** Names of the migrations recorded as applied, oldest first; none when the table is missing. */
export async function executedMigrationNames(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  try {
    if (!(await runner.hasTable(MIGRATIONS_TABLE))) return [];
  } finally {
    await runner.release();
  }
  const rows = await dataSource.query<{ name: string }[]>(
    `SELECT name FROM ${MIGRATIONS_TABLE} ORDER BY id`,
  );
  return rows.map((r) => r.name);
}

/** This release's migrations the database has not recorded, in the order they would run. */
export async function pendingMigrationNames(dataSource: DataSource): Promise<string[]> {
  const executed = new Set(await executedMigrationNames(dataSource));
  return dataSource.migrations
    .map((m) => m.name ?? m.constructor.name)
    .filter((name) => !executed.has(name));
}

/**
 * With DB_MIGRATIONS_RUN=false, checks at start that every migration of this release is applied.
 * Runs in onModuleInit of this global module, before any feature's onApplicationBootstrap touches
 * a table, so an unmigrated database is reported as such instead of as the first failing query.
 */
@Injectable()
export class SchemaCheck implements OnModuleInit {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    if (this.config.database.migrationsRun) return;
    const pending = await pendingMigrationNames(this.dataSource);
    if (pending.length > 0) throw new SchemaBehindError(pending);
  }
}
