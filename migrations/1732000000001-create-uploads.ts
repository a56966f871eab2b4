import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * uploads: one row per CSV upload or import (audit and async status). The committed counts
 * (inserted/updated/skipped) grow in the same transaction as each written batch, so after any
 * interruption they say exactly what the database holds from that upload.
 */
export class CreateUploads1732000000001 implements MigrationInterface {
  name = 'CreateUploads1732000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type === 'mysql';
    const big = mysql ? 'BIGINT UNSIGNED' : 'INTEGER';
    const text = mysql ? 'MEDIUMTEXT' : 'TEXT';
    const time = mysql ? 'DATETIME(6)' : 'TEXT';
    const now = mysql ? 'CURRENT_TIMESTAMP(6)' : "(strftime('%Y-%m-%d %H:%M:%f', 'now'))";
    await queryRunner.query(`
      CREATE TABLE uploads (
        id CHAR(36) NOT NULL PRIMARY KEY,
        status VARCHAR(16) NOT NULL,
        mode VARCHAR(8) NOT NULL,
        source VARCHAR(8) NOT NULL,
        file_name VARCHAR(255) NULL,
        client VARCHAR(255) NULL,
        options ${text} NOT NULL,
        bytes_total ${big} NULL,
        bytes_read ${big} NOT NULL DEFAULT 0,
        row_count ${big} NOT NULL DEFAULT 0,
        inserted ${big} NOT NULL DEFAULT 0,
        updated ${big} NOT NULL DEFAULT 0,
        skipped ${big} NOT NULL DEFAULT 0,
        failed ${big} NOT NULL DEFAULT 0,
        error_counts ${text} NULL,
        errors ${text} NULL,
        errors_truncated SMALLINT NOT NULL DEFAULT 0,
        message VARCHAR(1000) NULL,
        duration_ms ${big} NULL,
        created_at ${time} NOT NULL DEFAULT ${now},
        started_at ${time} NULL,
        finished_at ${time} NULL
      )${mysql ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : ''}`);
    await queryRunner.query('CREATE INDEX IDX_uploads_created_at ON uploads (created_at)');
    await queryRunner.query('CREATE INDEX IDX_uploads_status ON uploads (status)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE uploads');
  }
}
