import { APP_CONFIG, AppConfig } from '@app/config';
import { buildDataSourceOptions, executedMigrationNames } from '@app/database';
import { Inject, Optional } from '@nestjs/common';
import { Command, CommandRunner } from 'nest-commander';
import { DataSource } from 'typeorm';
import { cliConfig } from './cli-config';

const ACTIONS = ['run', 'revert', 'show'] as const;
type Action = (typeof ACTIONS)[number];

@Command({
  name: 'migrate',
  arguments: '[action]',
  description: 'Apply (run), undo the last (revert) or list (show) database migrations',
  argsDescription: { action: 'run | revert | show (default: run)' },
})
export class MigrateCommand extends CommandRunner {
  /** Tests pass a configuration; the CLI reads the environment's when the command runs. */
  constructor(@Optional() @Inject(APP_CONFIG) private readonly config?: AppConfig) {
    super();
  }

  async run([action = 'run']: string[]): Promise<void> {
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new Error(`Unknown action "${action}": use run, revert or show.`);
    }
    const config = this.config ?? cliConfig();
    const dataSource = new DataSource({
      ...buildDataSourceOptions({ ...config.database, migrationsRun: false }),
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
      const executed = await executedMigrationNames(dataSource);
      if (!executed.length) {
        console.log('Nothing to revert.');
        return;
      }
      await dataSource.undoLastMigration({ transaction: 'each' });
      console.log(`Reverted ${executed[executed.length - 1]}.`);
    } else {
      const executed = new Set(await executedMigrationNames(dataSource));
      for (const migration of dataSource.migrations) {
        const name = migration.name ?? migration.constructor.name;
        console.log(`${executed.has(name) ? '[X]' : '[ ]'} ${name}`);
      }
    }
  }
}
