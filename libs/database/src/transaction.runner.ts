import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, QueryRunner } from 'typeorm';
import { WriteLock } from './sqlite-write.lock';

/**
 * The one way to write: a transaction on its own connection (MySQL) or, on SQLite, a turn
 * behind the FIFO write lock, because TypeORM's better-sqlite3 driver shares one connection and
 * a statement issued while another transaction is open would join it.
 */
@Injectable()
export class TransactionRunner {
  private readonly lock: WriteLock | undefined;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    this.lock = dataSource.options.type === 'mysql' ? undefined : new WriteLock();
  }

  run<T>(work: (tx: QueryRunner) => Promise<T>): Promise<T> {
    const attempt = async (): Promise<T> => {
      const tx = this.dataSource.createQueryRunner();
      await tx.connect();
      await tx.startTransaction();
      try {
        const result = await work(tx);
        await tx.commitTransaction();
        return result;
      } catch (err) {
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
