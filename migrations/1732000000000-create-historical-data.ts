import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * historical_data, as docs/ARCHITECTURE.md ("Data model") describes it. Hand-written per dialect: SQLite needs
 * INTEGER PRIMARY KEY for AUTOINCREMENT; MySQL gets BIGINT UNSIGNED and an ASCII key column.
 * INDEX(date) is (date, symbol) so "order by date, then symbol" is served by the index.
 */
export class CreateHistoricalData1732000000000 implements MigrationInterface {
  name = 'CreateHistoricalData1732000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.options.type === 'mysql') {
      await queryRunner.query(`
        CREATE TABLE historical_data (
          id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
          symbol VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
          \`date\` DATE NOT NULL,
          \`open\` DECIMAL(20,8) NOT NULL,
          high DECIMAL(20,8) NOT NULL,
          low DECIMAL(20,8) NOT NULL,
          \`close\` DECIMAL(20,8) NOT NULL,
          adj_close DECIMAL(20,8) NULL,
          volume BIGINT UNSIGNED NOT NULL,
          created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
          updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
          PRIMARY KEY (id),
          UNIQUE KEY UQ_historical_data_symbol_date (symbol, \`date\`),
          KEY IDX_historical_data_date (\`date\`, symbol)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`);
      return;
    }
    await queryRunner.query(`
      CREATE TABLE historical_data (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        symbol VARCHAR(32) NOT NULL,
        "date" TEXT NOT NULL,
        "open" DECIMAL(20,8) NOT NULL,
        high DECIMAL(20,8) NOT NULL,
        low DECIMAL(20,8) NOT NULL,
        "close" DECIMAL(20,8) NOT NULL,
        adj_close DECIMAL(20,8) NULL,
        volume BIGINT NOT NULL CHECK (volume >= 0),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f', 'now')),
        CONSTRAINT UQ_historical_data_symbol_date UNIQUE (symbol, "date")
      )`);
    await queryRunner.query(
      `CREATE INDEX IDX_historical_data_date ON historical_data ("date", symbol)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE historical_data`);
  }
}
