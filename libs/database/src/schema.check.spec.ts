import { loadConfig } from '@app/config';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './data-source.options';
import { MIGRATIONS } from '../../../migrations';
import { pendingMigrationNames, SchemaBehindError, SchemaCheck } from './schema.check';

const NAMES = MIGRATIONS.map((m) => m.name);
const LAST = NAMES[NAMES.length - 1];

describe('SchemaCheck', () => {
  let dataSource: DataSource;
  beforeEach(async () => {
    const { database } = loadConfig({ DATABASE_URL: 'sqlite::memory:' });
    dataSource = await new DataSource(
      buildDataSourceOptions({ ...database, migrationsRun: false }),
    ).initialize();
  });
  afterEach(() => dataSource.destroy());

  const check = (migrationsRun: string) =>
    new SchemaCheck(
      dataSource,
      loadConfig({ DATABASE_URL: 'sqlite::memory:', DB_MIGRATIONS_RUN: migrationsRun }),
    ).onModuleInit();

  it('with DB_MIGRATIONS_RUN=false, refuses an unmigrated database, naming what is missing', async () => {
    expect(await pendingMigrationNames(dataSource)).toEqual(NAMES);
    await expect(check('false')).rejects.toThrow(SchemaBehindError);
    await expect(check('false')).rejects.toThrow(
      new RegExp(`${NAMES.length} migration\\(s\\) not applied .* Run`),
    );
    await expect(check('false')).rejects.toThrow(
      /not applied .* Run `historical-data migrate run` \(or the migration Job\) .* or set DB_MIGRATIONS_RUN=true\.$/,
    );
  });

  it('names only what is missing when the database is one migration behind', async () => {
    await dataSource.runMigrations();
    await dataSource.undoLastMigration();
    await expect(check('false')).rejects.toThrow(`1 migration(s) not applied (${LAST})`);
  });

  it('passes a current database, and leaves the check to TypeORM when it migrates at start', async () => {
    await expect(check('true')).resolves.toBeUndefined();
    await dataSource.runMigrations();
    await expect(check('false')).resolves.toBeUndefined();
  });
});
