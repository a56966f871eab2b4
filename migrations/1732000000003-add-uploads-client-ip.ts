import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * uploads.client names who uploaded (the API key's name; the CLI and its user for imports), and
 * the new client_ip holds the address apart. Until now client held the IP of HTTP uploads, so
 * those rows move their value across: an address must not read as a key name.
 */
export class AddUploadsClientIp1732000000003 implements MigrationInterface {
  name = 'AddUploadsClientIp1732000000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    // 45 characters hold any IPv6 address, IPv4-mapped ones included.
    await queryRunner.query('ALTER TABLE uploads ADD COLUMN client_ip VARCHAR(45) NULL');
    await queryRunner.query(
      "UPDATE uploads SET client_ip = client, client = NULL WHERE source = 'csv'",
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Back to the old meaning of client (the IP) for HTTP uploads; key names are lost.
    await queryRunner.query(
      "UPDATE uploads SET client = client_ip WHERE source = 'csv' AND client_ip IS NOT NULL",
    );
    await queryRunner.query('ALTER TABLE uploads DROP COLUMN client_ip');
  }
}
