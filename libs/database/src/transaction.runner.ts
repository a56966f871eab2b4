import { throwIfPastDeadline } from '@app/common';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { DataChanges } from './data-changes';
import { WriteLock } from './sqlite-write.lock';

/**
 * The one way to write: a transaction on its own connection (MySQL) or, on SQLite, a turn
 * behind the FIFO write lock, because TypeORM's better-sqlite3 driver shares one connection and
 * a statement issued while another transaction is open would join it.
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
  run<T>(work: (tx: QueryRunner) => Promise<T>): Promise<T> {
    const attempt = async (): Promise<T> => {
      throwIfPastDeadline();
      const tx = this.dataSource.createQueryRunner();
      await tx.connect();
      await tx.startTransaction();
      try {
        const result = await work(tx);
        await this.changes.prepare(tx);
        throwIfPastDeadline();
        await tx.commitTransaction();
        await this.changes.committed(tx);
        return result;
      } catch (err) {
        this.changes.rolledBack(tx);
        if (tx.isTransactionActive) await tx.rollbackTransaction();
        throw err;
      } finally {
        await tx.release();
      }
    };
    return this.lock ? this.lock.run(attempt) : attempt();
  }

  /** One write statement in its own transaction; answers the affected row count. */
  async execute(sql: string, params: unknown[]): Promise<number> {
    return this.run(async (tx) => {
      const { affected = 0 } = await tx.query(sql, params, true);
      return affected;
    });
  }
}
