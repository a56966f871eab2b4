import { AppError, throwIfPastDeadline } from '@app/common';
import { dbRetriesTotal } from '@app/observability';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { DataChanges } from './data-changes';
import { WriteLock } from './sqlite-write.lock';

/** Why a transaction is worth running again. */
export type RetryReason = 'deadlock' | 'race' | 'connection' | 'load_count';

/**
 * A bulk load's row count disagrees with the rows sent (a LOAD DATA that read a short or foreign
 * file). Nothing of it may commit: the transaction rolls back, and running it again on a fresh
 * connection is exact (the chunk keeps its bytes). After the last attempt the write fails.
 */
export class LoadCountError extends Error {
  constructor(
    readonly loaded: number,
    readonly sent: number,
    what = 'LOAD DATA',
  ) {
    super(`${what} stored ${loaded} row(s) of the ${sent} sent`);
    this.name = 'LoadCountError';
  }
}

/**
 * A concurrent writer stored a (symbol, date) this transaction had looked for and not found
 * (onConflict=error), or a bulk load skipped one. The transaction rolled back, so running it
 * again is exact: the next look sees the pair. After the last attempt it is a 409, never a 500.
 */
export class WriteRaceError extends AppError {
  constructor(detail = 'A concurrent write stored the same symbol and date; retry the request.') {
    super('ALREADY_EXISTS', detail);
    this.name = 'WriteRaceError';
  }
}

export interface RunOptions {
  /** The `operation` label of db_retries_total. */
  operation?: string;
  /**
   * Whether `work` can run again from the start (its input is in memory). A transaction fed by
   * a stream that is consumed as it goes (an atomic upload) cannot: it runs once.
   */
  replayable?: boolean;
}

/** Attempts in all (the first plus retries) and the backoff between them. */
export const RETRY_POLICY = { attempts: 5, baseMs: 25, maxMs: 1000 };

const DEADLOCK_ERRNOS = new Set([1213]); // ER_LOCK_DEADLOCK, also Galera's certification failure
const CONNECTION_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'EPIPE']);
// 1047 is ER_UNKNOWN_COM_ERROR: Galera answers it, with a message naming WSREP ("WSREP has not
// yet prepared node for application use"), from a node outside the primary component. Only that
// one is a reconnect; a genuine "Unknown command" would fail the same way again.
const WSREP_NOT_READY = 1047;
const isWsrepNotReady = (message: unknown): boolean =>
  typeof message === 'string' && /wsrep|not ready|not yet prepared/i.test(message);

/** Whether a failed transaction may succeed if run again, and why (undefined: it may not). */
export function retryReason(err: unknown): RetryReason | undefined {
  if (err instanceof WriteRaceError) return 'race';
  if (err instanceof LoadCountError) return 'load_count';
  const e = err as { driverError?: unknown } | null;
  const driver = (e?.driverError ?? err) as
    | { code?: string; errno?: number; sqlState?: string; sqlMessage?: string; message?: string }
    | null
    | undefined;
  if (!driver || typeof driver !== 'object') return undefined;
  if (
    (driver.errno !== undefined && DEADLOCK_ERRNOS.has(driver.errno)) ||
    driver.sqlState === '40001' ||
    driver.code === 'ER_LOCK_DEADLOCK'
  )
    return 'deadlock';
  if (
    (driver.code !== undefined && CONNECTION_CODES.has(driver.code)) ||
    (driver.errno === WSREP_NOT_READY && isWsrepNotReady(driver.sqlMessage ?? driver.message))
  )
    return 'connection';
  return undefined;
}

/**
 * Closes the transaction's connection instead of handing it back to the pool: after a lost
 * connection, a node that left the cluster (a new connection may reach another node through the
 * load balancer), or a LOAD DATA that failed (mysql2 may leave the file stream feeding it, or the
 * server may still be waiting for the file). The server rolls back what the connection had open.
 */
export function discardConnection(tx: QueryRunner): void {
  const conn = (tx as unknown as { databaseConnection?: { destroy?: () => void } })
    .databaseConnection;
  conn?.destroy?.();
}

/** Transactions that have read a temporary table (see markTemporaryRead). */
const readTemporary = new WeakSet<QueryRunner>();

/**
 * Marks `tx` as having read a temporary table. On MariaDB Galera 10.11 a rollback to a savepoint
 * after such a read still replicates the rolled-back rows (the other nodes then fail to apply the
 * write set), so TransactionRunner.step never rolls such a transaction back to its savepoint: the
 * step's failure fails the transaction instead.
 */
export function markTemporaryRead(tx: QueryRunner): void {
  readTemporary.add(tx);
}

/** Full jitter on an exponential step: spreads the retries of writers that collided. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY_POLICY.maxMs, RETRY_POLICY.baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Marks a failure of COMMIT itself: a lost connection there may have committed. */
class CommitFailed extends Error {
  constructor(override readonly cause: unknown) {
    super('commit failed');
  }
}

/**
 * The one way to write: a transaction on its own connection (MySQL) or, on SQLite, a turn
 * behind the FIFO write lock, because TypeORM's better-sqlite3 driver shares one connection and
 * a statement issued while another transaction is open would join it.
 * And the one place that retries: a deadlock or certification failure (1213 / SQLSTATE 40001), a
 * concurrent-insert race (WriteRaceError) or a connection lost before COMMIT (1047, reset) runs
 * the whole transaction again, bounded, with jittered backoff, counted in db_retries_total.
 */
@Injectable()
export class TransactionRunner {
  private readonly lock: WriteLock | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly changes: DataChanges,
  ) {
    this.lock = dataSource.options.type === 'mysql' ? undefined : new WriteLock();
  }

  /**
   * Runs `work` in a transaction. Inside a request whose time budget is spent (see
   * TimeoutInterceptor) it does not start, and one already running rolls back instead of
   * committing: a client told "timed out" never finds the write done later.
   */
  async run<T>(work: (tx: QueryRunner) => Promise<T>, options: RunOptions = {}): Promise<T> {
    const attempts = options.replayable === false ? 1 : RETRY_POLICY.attempts;
    for (let attempt = 0; ; attempt++) {
      try {
        return await (this.lock ? this.lock.run(() => this.once(work)) : this.once(work));
      } catch (err) {
        const cause = err instanceof CommitFailed ? err.cause : err;
        const reason = retryReason(cause);
        // A connection lost during COMMIT leaves the outcome unknown: never run that twice.
        const retry =
          reason !== undefined &&
          attempt + 1 < attempts &&
          !(reason === 'connection' && err instanceof CommitFailed);
        if (!retry) throw cause;
        dbRetriesTotal.labels(options.operation ?? 'transaction', reason).inc();
        await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt)));
      }
    }
  }

  private async once<T>(work: (tx: QueryRunner) => Promise<T>): Promise<T> {
    throwIfPastDeadline();
    const tx = this.dataSource.createQueryRunner();
    await tx.connect();
    await tx.startTransaction();
    try {
      const result = await work(tx);
      await this.changes.prepare(tx);
      throwIfPastDeadline();
      try {
        await tx.commitTransaction();
      } catch (err) {
        throw new CommitFailed(err);
      }
      await this.changes.committed(tx);
      return result;
    } catch (err) {
      this.changes.rolledBack(tx);
      const cause = err instanceof CommitFailed ? err.cause : err;
      if (retryReason(cause) === 'connection') discardConnection(tx);
      else if (tx.isTransactionActive) await tx.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await tx.release();
    }
  }

  /**
   * One step of a transaction that cannot run again (its input was consumed as it went: an
   * atomic upload): `step` runs under a savepoint and, when it meets a concurrent-insert race
   * (WriteRaceError), the transaction rolls back to the savepoint and the step runs again, with
   * run()'s bound and db_retries_total. `step` learns that it is a retry: the transaction's
   * snapshot predates the concurrent write, so a retry looks at the latest committed rows (a
   * locking read). Anything else propagates (a deadlock has rolled the whole transaction back).
   * Never after the transaction read a temporary table (markTemporaryRead): then the race fails
   * the transaction, as on any path that cannot run again.
   */
  async step<T>(
    tx: QueryRunner,
    step: (retry: boolean) => Promise<T>,
    operation = 'transaction_step',
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await tx.query('SAVEPOINT tx_step');
      try {
        return await step(attempt > 0);
      } catch (err) {
        if (
          !(err instanceof WriteRaceError) ||
          attempt + 1 >= RETRY_POLICY.attempts ||
          readTemporary.has(tx)
        )
          throw err;
        await tx.query('ROLLBACK TO SAVEPOINT tx_step');
        dbRetriesTotal.labels(operation, 'race').inc();
      }
    }
  }

  /** One write statement in its own transaction; answers the affected row count. */
  async execute(sql: string, params: unknown[], operation = 'execute'): Promise<number> {
    return this.run(
      async (tx) => {
        const { affected = 0 } = await tx.query(sql, params, true);
        return affected;
      },
      { operation },
    );
  }
}
