import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * idempotency_keys: one row per (client, Idempotency-Key) for 24 h. `in_progress` while the first
 * request runs (a concurrent duplicate gets 409), then `completed` with the response to replay.
 * `fingerprint` identifies the request (method, path, parameters, body or file bytes).
 */
export class CreateIdempotencyKeys1732000000002 implements MigrationInterface {
  name = 'CreateIdempotencyKeys1732000000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    const mysql = queryRunner.connection.options.type === 'mysql';
    const text = mysql ? 'MEDIUMTEXT' : 'TEXT';
    const time = mysql ? 'DATETIME(6)' : 'TEXT';
    const now = mysql ? 'CURRENT_TIMESTAMP(6)' : "(strftime('%Y-%m-%d %H:%M:%f', 'now'))";
    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        scope VARCHAR(200) NOT NULL,
        idem_key VARCHAR(255) NOT NULL,
        fingerprint CHAR(64) NULL,
        status VARCHAR(16) NOT NULL,
        response_status SMALLINT NULL,
        response_headers ${text} NULL,
        response_body ${text} NULL,
        created_at ${time} NOT NULL DEFAULT ${now},
        expires_at ${time} NOT NULL,
        PRIMARY KEY (scope, idem_key)
      )${mysql ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin' : ''}`);
    await queryRunner.query(
      'CREATE INDEX IDX_idempotency_keys_expires_at ON idempotency_keys (expires_at)',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE idempotency_keys');
  }
}
