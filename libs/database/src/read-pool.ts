import { bindToContext } from '@app/common';
import { dbRetriesTotal } from '@app/observability';
import type { DataSource } from 'typeorm';
import { retryReason } from './transaction.runner';

/** The callback API of mysql2's pool, as TypeORM's MySQL driver holds it. */
interface MysqlPool {
  getConnection(callback: (err: Error | null, connection: MysqlConnection) => void): void;
}

interface MysqlConnection {
  query(
    options: { sql: string; values: readonly unknown[] },
    callback: (err: Error | null, rows: unknown) => void,
  ): void;
  release(): void;
}

/** The part of better-sqlite3's Database the read path uses. */
interface SqliteDatabase {
  prepare(sql: string): { all(...params: unknown[]): unknown[] };
}

/**
 * Read statements sent straight to the driver: mysql2's pool, or a cached better-sqlite3
 * prepared statement. TypeORM's `dataSource.query` creates a QueryRunner, takes and releases a
 * connection and builds a result wrapper for every statement; on the hot read path that costs
 * more CPU than the statement's own parsing (see docs/ARCHITECTURE.md, "Performance budget").
 * Writes and reads inside a transaction keep going through TypeORM's QueryRunner.
 */
export class ReadPool {
  private readonly statements = new Map<string, { all(...params: unknown[]): unknown[] }>();

  constructor(private readonly dataSource: DataSource) {}

  query<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
    const driver = this.dataSource.driver as unknown as {
      pool?: MysqlPool;
      databaseConnection?: SqliteDatabase;
    };
    if (this.dataSource.options.type === 'mysql') {
      const pool = driver.pool!;
      // What mysql2's pool.query does (take a connection, query, release it), except that the
      // connection is used in this read's async context: a read that waited for a connection is
      // called back from whatever released one (another request's end, the driver's socket), and
      // its query, with OpenTelemetry's span and the request's log store, would run in that
      // context (its span under another request's trace, or a trace of its own).
      const once = (): Promise<T[]> =>
        new Promise<T[]>((resolve, reject) =>
          pool.getConnection(
            bindToContext((err: Error | null, connection: MysqlConnection) => {
              if (err) return reject(err);
              try {
                connection.query({ sql, values: params }, (queryErr, rows) => {
                  connection.release();
                  if (queryErr) reject(queryErr);
                  else resolve(rows as T[]);
                });
              } catch (thrown) {
                // As pool.query does: the connection goes back, the read fails (never an
                // exception thrown from the driver's callback).
                connection.release();
                reject(thrown instanceof Error ? thrown : new Error(String(thrown)));
              }
            }),
          ),
        );
      // A read is safe to run again: once more on another connection when the pool handed out
      // one that had died (its database node was killed, the link was cut) or that reached a node
      // outside the cluster (mysql2 drops such a connection from the pool).
      return once().catch((err: unknown) => {
        if (retryReason(err) !== 'connection') throw err;
        dbRetriesTotal.labels('read', 'connection').inc();
        return once();
      });
    }
    try {
      let statement = this.statements.get(sql);
      if (!statement) {
        statement = driver.databaseConnection!.prepare(sql);
        this.statements.set(sql, statement);
      }
      return Promise.resolve(statement.all(...params) as T[]);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
