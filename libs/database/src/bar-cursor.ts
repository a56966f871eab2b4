import { Logger } from '@nestjs/common';
import { createPool } from 'mysql2';
import { AsyncResource } from 'node:async_hooks';
import { Readable } from 'node:stream';
import type { DataSource, DataSourceOptions } from 'typeorm';

/** The parts of mysql2's callback pool and pooled connection a cursor uses. */
interface MysqlPoolConnection {
  threadId: number | null;
  query(options: { sql: string; values: readonly unknown[] }): {
    stream(options: { highWaterMark: number }): Readable;
  };
  release(): void;
  destroy(): void;
  once(event: 'error', listener: (err: Error) => void): void;
  off(event: 'error', listener: (err: Error) => void): void;
  /** The socket: mysql2's destroy() only half-closes it (end()), see MysqlBarCursor. */
  stream?: { destroy(): void };
}

export interface MysqlPool {
  getConnection(callback: (err: Error | null, connection: MysqlPoolConnection) => void): void;
  end(callback: (err?: Error | null) => void): void;
}

/** Sends a statement on the main pool, in the caller's async context (ReadPool). */
export interface StatementSender {
  query<T>(sql: string, params: readonly unknown[]): Promise<T[]>;
}

/**
 * The connections exports read on (MySQL): `size` of them, apart from the pool reads and writes
 * use, so exports can never take every connection the API has. They connect like the main pool
 * but hand DECIMAL and BIGINT over as text: the CSV writes that text (trailing zeros dropped,
 * bar-row.ts) instead of parsing a double and formatting it back, the largest cost of an export
 * and, through V8's number-string cache, a steady growth of the old generation.
 */
export function createExportPool(dataSourceOptions: DataSourceOptions, size: number): MysqlPool {
  // The MySQL fields of buildDataSourceOptions' result.
  const options = dataSourceOptions as {
    host?: string;
    port?: number;
    username?: string;
    password?: string;
    database?: string;
    charset?: string;
    timezone?: string;
    connectTimeout?: number;
  };
  return createPool({
    host: options.host,
    port: options.port,
    user: options.username,
    password: options.password,
    database: options.database,
    charset: options.charset,
    timezone: options.timezone,
    connectTimeout: options.connectTimeout,
    dateStrings: true,
    decimalNumbers: false,
    supportBigNumbers: true,
    bigNumberStrings: true,
    connectionLimit: size,
    maxIdle: 0,
    idleTimeout: 60_000,
    enableKeepAlive: true,
    trace: false,
  }) as unknown as MysqlPool;
}

interface SqliteDatabase {
  prepare(sql: string): { iterate(...params: unknown[]): IterableIterator<unknown> };
}

/** One keyset scan of SQLite rows: the statement for the first chunk and the one to go on. */
export interface SqliteScan {
  first: { sql: string; params: unknown[] };
  /** The statement for the chunk after `last` (the previous chunk's last raw row). */
  next(last: Record<string, unknown>): { sql: string; params: unknown[] };
}

/** What an export selects: any of symbols (exact), a first and a last date; none = every bar. */
export interface BarSelection {
  symbols?: readonly string[];
  startDate?: string;
  endDate?: string;
}

/** Rows read per SQLite chunk: a few milliseconds of synchronous work at most. */
export const SQLITE_CHUNK_ROWS = 1000;

/**
 * Rows handed on together (one array per stream chunk). One stream hop per row cost more than
 * formatting the row; a batch of 1,000 bars is one ~60 KB CSV write.
 */
export const CURSOR_BATCH_ROWS = 1000;

/** Rows mysql2 may hold before it pauses the socket (backpressure to the server). */
const MYSQL_HIGH_WATER_MARK = 1000;

const logger = new Logger('BarCursor');

/**
 * A streamed SELECT: rows in order, read as the consumer asks for them, handed on in batches (each
 * chunk is a non-empty array of up to CURSOR_BATCH_ROWS items; at most a few batches are
 * buffered). Destroying it before the end stops the statement. `rows` counts rows handed on, for
 * progress and tests.
 */
export abstract class BarCursor<T> extends Readable {
  rows = 0;

  constructor(protected readonly toItem: (row: never) => T) {
    super({ objectMode: true, highWaterMark: 2 });
  }

  /** Hands a batch on; false when the consumer has enough buffered (stop reading). */
  protected pushBatch(batch: T[]): boolean {
    this.rows += batch.length;
    return this.push(batch);
  }
}

/**
 * MySQL: `connection.query(...).stream()` on a connection taken from mysql2's own pool. mysql2
 * pauses the socket when the stream's buffer is full, so the server waits for a slow client and
 * memory stays bounded. A cursor that did not reach its end never goes back to the pool: the
 * connection still holds unread rows (mysql2 would read and drop the rest of the result on
 * release), so it is destroyed, and KILL QUERY stops the statement on the server even when it has
 * not started sending (a sort).
 */
export class MysqlBarCursor<T> extends BarCursor<T> {
  private connection?: MysqlPoolConnection;
  private source?: Readable;
  private finished = false;
  /**
   * The async context the cursor was opened in (the export's request): mysql2's pool calls a
   * waiting getConnection back from whatever released a connection, and a response's 'close'
   * (which stops the cursor) comes from its socket. The statement and its KILL QUERY run here, so
   * their spans belong to the export's trace, or to none when it is not traced.
   */
  private readonly opened = new AsyncResource('MysqlBarCursor');

  /**
   * `pool` gives the connection the statement runs on; `control` (the main pool's ReadPool) sends
   * KILL QUERY, so stopping an export never waits for an export connection.
   */
  constructor(
    private readonly pool: MysqlPool,
    private readonly control: StatementSender,
    private readonly statement: { sql: string; params: readonly unknown[] },
    toItem: (row: never) => T,
  ) {
    super(toItem);
  }

  override _construct(callback: (err?: Error | null) => void): void {
    this.pool.getConnection((err, connection) =>
      this.opened.runInAsyncScope(() => this.start(err, connection, callback)),
    );
  }

  private start(
    err: Error | null,
    connection: MysqlPoolConnection,
    callback: (err?: Error | null) => void,
  ): void {
    if (err) return callback(err);
    if (this.destroyed) {
      connection.release();
      return callback();
    }
    this.connection = connection;
    // A lost connection (server gone, KILL) is reported on the connection, not on a query
    // without a callback: without this the stream would wait forever.
    const lost = (error: Error): void => void this.destroy(error);
    connection.once('error', lost);
    const source = connection
      .query({ sql: this.statement.sql, values: this.statement.params })
      .stream({ highWaterMark: MYSQL_HIGH_WATER_MARK });
    this.source = source;
    let batch: T[] = [];
    source.on('data', (row: unknown) => {
      batch.push(this.toItem(row as never));
      if (batch.length < CURSOR_BATCH_ROWS) return;
      const full = batch;
      batch = [];
      if (!this.pushBatch(full)) source.pause();
    });
    source.on('end', () => {
      // mysql2 emits 'end' after a destroy too; only a read to the end is the end.
      if (this.destroyed || this.finished) return;
      this.finished = true;
      this.connection = undefined;
      connection.off('error', lost);
      connection.release();
      if (batch.length) this.pushBatch(batch);
      this.push(null);
    });
    source.on('error', (error: Error) => this.destroy(error));
    source.pause();
    callback();
  }

  override _read(): void {
    this.source?.resume();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    const connection = this.connection;
    this.connection = undefined;
    if (connection && !this.finished) {
      const threadId = connection.threadId;
      // Out of the pool; then the socket closed outright: mysql2's destroy() only half-closes
      // it, and a server thread blocked writing rows to a socket nobody reads would wait for
      // net_write_timeout (60 s by default), holding its locks.
      connection.destroy();
      connection.stream?.destroy();
      if (threadId !== null) {
        // ReadPool takes the connection in this context: mysql2's pool.query would send the
        // statement from the callback of whatever released a connection, when none was free.
        this.opened
          .runInAsyncScope(() => this.control.query(`KILL QUERY ${Number(threadId)}`, []))
          .catch((killErr: Error) => {
            // The thread may be gone already (it noticed the closed socket): nothing to stop.
            if (!/Unknown thread id/i.test(killErr.message)) {
              logger.warn(`could not stop an abandoned export statement: ${killErr.message}`);
            }
          });
      }
    }
    callback(err);
  }
}

/**
 * SQLite: better-sqlite3 `statement.iterate()` in keyset chunks. The connection is the process's
 * one connection and refuses every write while an iterator is open ("This database connection is
 * busy executing a query"), so no iterator outlives a chunk: each `_read` opens one, takes up to
 * SQLITE_CHUNK_ROWS rows synchronously, closes it, and the next chunk continues after the last
 * (symbol, date) on the unique index. Writes interleave between chunks; rows are never repeated or
 * skipped because the key is unique and the order is the key's.
 */
export class SqliteBarCursor<T> extends BarCursor<T> {
  private scan = 0;
  private last?: Record<string, unknown>;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly scans: readonly SqliteScan[],
    toItem: (row: never) => T,
  ) {
    super(toItem);
  }

  override _read(): void {
    try {
      while (this.scan < this.scans.length) {
        const current = this.scans[this.scan];
        const { sql, params } = this.last ? current.next(this.last) : current.first;
        const batch: T[] = [];
        let last: Record<string, unknown> | undefined;
        for (const row of this.db.prepare(sql).iterate(...params)) {
          last = row as Record<string, unknown>;
          batch.push(this.toItem(row as never));
        }
        if (batch.length === SQLITE_CHUNK_ROWS) {
          this.last = last;
          this.pushBatch(batch);
          return;
        }
        this.scan++;
        this.last = undefined;
        if (batch.length > 0) return void this.pushBatch(batch);
      }
      this.push(null);
    } catch (err) {
      this.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/** The driver handles behind TypeORM's DataSource. */
export function driverHandles(dataSource: DataSource): {
  pool?: MysqlPool;
  databaseConnection?: SqliteDatabase;
} {
  return dataSource.driver as unknown as {
    pool?: MysqlPool;
    databaseConnection?: SqliteDatabase;
  };
}
