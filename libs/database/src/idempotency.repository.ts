import { TimedDb } from '@app/observability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isUniqueViolation } from './historical-data.repository';
import { TransactionRunner } from './transaction.runner';

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface IdempotencyRecord {
  fingerprint: string | null;
  status: 'in_progress' | 'completed';
  response?: StoredResponse;
}

interface Row {
  fingerprint: string | null;
  status: 'in_progress' | 'completed';
  response_status: number | null;
  response_headers: string | null;
  response_body: string | null;
}

/** idempotency_keys, and nothing else. Times are written by the database clock. */
@Injectable()
export class IdempotencyRepository {
  private readonly mysql: boolean;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly transactions: TransactionRunner,
  ) {
    this.mysql = dataSource.options.type === 'mysql';
  }

  private expiresIn(seconds: number): string {
    return this.mysql
      ? `DATE_ADD(CURRENT_TIMESTAMP(6), INTERVAL ${seconds} SECOND)`
      : `strftime('%Y-%m-%d %H:%M:%f', 'now', '+${seconds} seconds')`;
  }

  private get now(): string {
    return this.mysql ? 'CURRENT_TIMESTAMP(6)' : "strftime('%Y-%m-%d %H:%M:%f', 'now')";
  }

  /**
   * Takes the key for a new request (true), or finds it taken (false). An expired row is removed
   * first, so a key is reusable after its lifetime.
   */
  @TimedDb('idempotency_claim')
  async claim(
    scope: string,
    key: string,
    fingerprint: string | null,
    ttlSeconds: number,
  ): Promise<boolean> {
    await this.transactions.execute(
      `DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND expires_at <= ${this.now}`,
      [scope, key],
    );
    try {
      await this.transactions.execute(
        `INSERT INTO idempotency_keys (scope, idem_key, fingerprint, status, expires_at)
         VALUES (?, ?, ?, 'in_progress', ${this.expiresIn(ttlSeconds)})`,
        [scope, key, fingerprint],
      );
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  @TimedDb('idempotency_find')
  async find(scope: string, key: string): Promise<IdempotencyRecord | undefined> {
    const rows = await this.dataSource.query<Row[]>(
      `SELECT fingerprint, status, response_status, response_headers, response_body
       FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND expires_at > ${this.now}`,
      [scope, key],
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      fingerprint: row.fingerprint,
      status: row.status,
      response:
        row.status === 'completed'
          ? {
              status: Number(row.response_status),
              headers: JSON.parse(row.response_headers ?? '{}') as Record<string, string>,
              body: row.response_body ?? '',
            }
          : undefined,
    };
  }

  @TimedDb('idempotency_complete')
  async complete(
    scope: string,
    key: string,
    fingerprint: string,
    response: StoredResponse,
  ): Promise<void> {
    await this.transactions.execute(
      `UPDATE idempotency_keys SET status = 'completed', fingerprint = ?, response_status = ?,
       response_headers = ?, response_body = ? WHERE scope = ? AND idem_key = ?`,
      [fingerprint, response.status, JSON.stringify(response.headers), response.body, scope, key],
    );
  }

  /** The first request failed: the key is free again. */
  @TimedDb('idempotency_release')
  async release(scope: string, key: string): Promise<void> {
    await this.transactions.execute(
      `DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND status = 'in_progress'`,
      [scope, key],
    );
  }

  /** Removes expired keys (run now and then; lookups ignore them anyway). */
  @TimedDb('idempotency_purge')
  async purgeExpired(): Promise<number> {
    return this.transactions.execute(
      `DELETE FROM idempotency_keys WHERE expires_at <= ${this.now}`,
      [],
    );
  }
}
