import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Replicas (issue 13). uploads.owner_instance names the process running an upload and
 * heartbeat_at is refreshed by it while it runs: another instance sweeps an upload to
 * `interrupted` only once its heartbeat is stale, never one a live replica is running.
 * upload_rejected_rows holds each upload's rejected rows (bounded per upload by the service), so
 * GET /api/v1/uploads/:id/errors answers the same from every replica; it replaces a file in each
 * instance's UPLOAD_DIR. One row per rejected record, keyed by its line in the file.
 */
export class AddUploadOwnership1732000000013 implements MigrationInterface {
  name = 'AddUploadOwnership1732000000013';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type === 'mysql';
    const time = mysql ? 'DATETIME(6)' : 'TEXT';
    const big = mysql ? 'BIGINT UNSIGNED' : 'INTEGER';
    await queryRunner.query('ALTER TABLE uploads ADD COLUMN owner_instance VARCHAR(64) NULL');
    await queryRunner.query(`ALTER TABLE uploads ADD COLUMN heartbeat_at ${time} NULL`);
    await queryRunner.query(`
      CREATE TABLE upload_rejected_rows (
        upload_id CHAR(36) NOT NULL,
        line ${big} NOT NULL,
        code VARCHAR(32) NOT NULL,
        column_name VARCHAR(64) NOT NULL,
        value VARCHAR(255) NOT NULL,
        message VARCHAR(500) NOT NULL,
        record ${mysql ? 'MEDIUMTEXT' : 'TEXT'} NOT NULL,
        PRIMARY KEY (upload_id, line)
      )${mysql ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4' : ''}`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE upload_rejected_rows');
    await queryRunner.query('ALTER TABLE uploads DROP COLUMN heartbeat_at');
    await queryRunner.query('ALTER TABLE uploads DROP COLUMN owner_instance');
  }
}
