import { AsyncLocalStorage } from 'node:async_hooks';
import type { DataSource } from 'typeorm';
import { ReadPool } from './read-pool';

/**
 * A one-connection pool that behaves like mysql2's: a caller waiting for the connection is called
 * back from wherever the connection is released (here: from inside another async context).
 */
function oneConnectionPool(als: AsyncLocalStorage<string>) {
  const queriedIn: (string | undefined)[] = [];
  const waiting: ((err: Error | null, connection: unknown) => void)[] = [];
  const pending: (() => void)[] = [];
  let busy = false;
  const connection = {
    query(_options: unknown, callback: (err: Error | null, rows: unknown) => void): void {
      queriedIn.push(als.getStore());
      pending.push(() => callback(null, [{ n: queriedIn.length }]));
    },
    release(): void {
      const next = waiting.shift();
      if (next) als.run('the releasing code', () => process.nextTick(next, null, connection));
      else busy = false;
    },
  };
  const pool = {
    getConnection(callback: (err: Error | null, c: unknown) => void): void {
      if (busy) return void waiting.push(callback);
      busy = true;
      process.nextTick(callback, null, connection);
    },
  };
  const dataSource = { options: { type: 'mysql' }, driver: { pool } } as unknown as DataSource;
  return { dataSource, queriedIn, answerNext: () => pending.shift()?.() };
}

describe('ReadPool on MySQL', () => {
  it('queries in the caller’s async context, even after waiting for a connection', async () => {
    const als = new AsyncLocalStorage<string>();
    const { dataSource, queriedIn, answerNext } = oneConnectionPool(als);
    const reads = new ReadPool(dataSource);
    const first = als.run('request A', () => reads.query('SELECT 1', []));
    const second = als.run('request B', () => reads.query('SELECT 2', []));
    await new Promise((resolve) => setImmediate(resolve));
    expect(queriedIn).toEqual(['request A']);
    answerNext();
    await expect(first).resolves.toEqual([{ n: 1 }]);
    await new Promise((resolve) => setImmediate(resolve));
    // B waited for the connection A released, and still queried as B (its span, its log store).
    expect(queriedIn).toEqual(['request A', 'request B']);
    answerNext();
    await expect(second).resolves.toEqual([{ n: 2 }]);
  });
});

describe('ReadPool on MySQL, a driver that throws', () => {
  it('fails the read and gives the connection back, as pool.query does', async () => {
    const released: boolean[] = [];
    const connection = {
      query(): void {
        throw new Error('Can’t add new command when connection is in closed state');
      },
      release: () => released.push(true),
    };
    const pool = {
      getConnection: (callback: (err: Error | null, c: unknown) => void) =>
        process.nextTick(callback, null, connection),
    };
    const dataSource = { options: { type: 'mysql' }, driver: { pool } } as unknown as DataSource;
    await expect(new ReadPool(dataSource).query('SELECT 1', [])).rejects.toThrow('closed state');
    expect(released).toEqual([true]);
  });
});
