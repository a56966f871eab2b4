import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `symbols`: one row per stored symbol with its first and last date and bar count, so the symbol
 * catalogue (GET /api/v1/symbols) never scans historical_data. Every write to historical_data keeps
 * it exact in the same transaction (SymbolsRepository; docs/ARCHITECTURE.md, "The symbol
 * catalogue"). Filled here from what is already stored. `bars` is signed so an intermediate
 * `bars + delta` inside a transaction can never trip MySQL's UNSIGNED range check.
 */
export class CreateSymbols1732000000011 implements MigrationInterface {
  name = 'CreateSymbols1732000000011';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query(`
        CREATE TABLE symbols (
          symbol VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
          first_date DATE NOT NULL,
          last_date DATE NOT NULL,
          bars BIGINT NOT NULL,
          PRIMARY KEY (symbol)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
    } else {
      await queryRunner.query(`
        CREATE TABLE symbols (
          symbol VARCHAR(32) NOT NULL PRIMARY KEY,
          first_date TEXT NOT NULL,
          last_date TEXT NOT NULL,
          bars INTEGER NOT NULL
        )`);
    }
    await queryRunner.query(
      'INSERT INTO symbols (symbol, first_date, last_date, bars) ' +
        'SELECT symbol, MIN(`date`), MAX(`date`), COUNT(*) FROM historical_data GROUP BY symbol',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE symbols');
  }
}
