import { APP_CONFIG, AppConfig } from '@app/config';
import { buildDataSourceOptions, MIGRATIONS_TABLE } from '@app/database';
import { Inject } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { DataSource } from 'typeorm';

const ACTIONS = ['run', 'revert', 'show'] as const;
type Action = (typeof ACTIONS)[number];

@Command({
  name: 'migrate',
  arguments: '[action]',
  description: 'Apply (run), undo the last (revert) or list (show) database migrations',
  argsDescription: { action: 'run | revert | show (default: run)' },
})
export class MigrateCommand extends CommandRunner {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    super();
  }

  async run([action = 'run']: string[]): Promise<void> {
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new Error(`Unknown action "${action}": use run, revert or show.`);
    }
    const dataSource = new DataSource({
      ...buildDataSourceOptions({ ...this.config.database, migrationsRun: false }),
    });
    await dataSource.initialize();
    try {
      await this.apply(dataSource, action as Action);
    } finally {
      await dataSource.destroy();
    }
  }

  private async apply(dataSource: DataSource, action: Action): Promise<void> {
    if (action === 'run') {
      const applied = await dataSource.runMigrations({ transaction: 'each' });
      console.log(
        applied.length
          ? `Applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`
          : 'Database is up to date.',
      );
    } else if (action === 'revert') {
      const executed = await this.executedNames(dataSource);
      if (!executed.length) {
        console.log('Nothing to revert.');
        return;
      }
      await dataSource.undoLastMigration({ transaction: 'each' });
      console.log(`Reverted ${executed[executed.length - 1]}.`);
    } else {
      const executed = new Set(await this.executedNames(dataSource));
      for (const migration of dataSource.migrations) {
        const name = migration.name ?? migration.constructor.name;
        console.log(`${executed.has(name) ? '[X]' : '[ ]'} ${name}`);
      }
    }
  }

  private async executedNames(dataSource: DataSource): Promise<string[]> {
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
}
