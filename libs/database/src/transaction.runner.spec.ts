import { register } from 'prom-client';
import type { DataSource, QueryRunner } from 'typeorm';
import { DataChanges } from './data-changes';
import {
  backoffMs,
  LoadCountError,
  markTemporaryRead,
  RETRY_POLICY,
  retryReason,
  TransactionRunner,
  WriteRaceError,
} from './transaction.runner';

const driverError = (fields: Record<string, unknown>): Error =>
  Object.assign(new Error('query failed'), { driverError: fields });

/** A MySQL-like DataSource whose query runners record what happened to them. */
function fakeDataSource(commit: () => Promise<void> = () => Promise.resolve()) {
  const log: string[] = [];
  const dataSource = {
    options: { type: 'mysql' },
    createQueryRunner: () => {
      let active = false;
      return {
        connect: () => Promise.resolve(),
        startTransaction: () => {
          active = true;
          log.push('begin');
          return Promise.resolve();
        },
        commitTransaction: async () => {
          await commit();
          active = false;
          log.push('commit');
        },
        rollbackTransaction: () => {
          active = false;
          log.push('rollback');
          return Promise.resolve();
        },
        release: () => {
          log.push('release');
          return Promise.resolve();
        },
        databaseConnection: {
          destroy: () => log.push('destroy'),
        },
        get isTransactionActive() {
          return active;
        },
      };
    },
  } as unknown as DataSource;
  return { dataSource, log };
}

async function retries(operation: string, reason: string): Promise<number> {
  const metric = await register.getSingleMetric('db_retries_total')!.get();
  return (
    metric.values.find((v) => v.labels.operation === operation && v.labels.reason === reason)
      ?.value ?? 0
  );
}

describe('retryReason', () => {
  it.each([
    [driverError({ errno: 1213, code: 'ER_LOCK_DEADLOCK' }), 'deadlock'],
    [driverError({ sqlState: '40001' }), 'deadlock'],
    [
      driverError({
        errno: 1047,
        sqlMessage: 'WSREP has not yet prepared node for application use',
      }),
      'connection',
    ],
    [Object.assign(new Error('WSREP not ready'), { errno: 1047 }), 'connection'],
    [new LoadCountError(49_000, 50_000), 'load_count'],
    [driverError({ code: 'PROTOCOL_CONNECTION_LOST' }), 'connection'],
    [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'connection'],
    [new WriteRaceError(), 'race'],
  ])('%s → %s', (err, reason) => expect(retryReason(err)).toBe(reason));

  it.each([
    [driverError({ code: 'ER_DUP_ENTRY', errno: 1062 })],
    // ER_UNKNOWN_COM_ERROR without WSREP: a genuine unknown command fails the same way again.
    [driverError({ errno: 1047, sqlMessage: 'Unknown command' })],
    [new Error('plain')],
    ['a string'],
    [null],
  ])('%s is not retried', (err) => expect(retryReason(err)).toBeUndefined());
});

describe('backoffMs', () => {
  it('grows with the attempt, jittered between half and the whole step, capped', () => {
    expect(backoffMs(0, () => 0)).toBe(Math.round(RETRY_POLICY.baseMs / 2));
    expect(backoffMs(0, () => 1)).toBe(RETRY_POLICY.baseMs);
    expect(backoffMs(2, () => 1)).toBe(RETRY_POLICY.baseMs * 4);
    expect(backoffMs(30, () => 1)).toBe(RETRY_POLICY.maxMs);
  });
});

describe('TransactionRunner', () => {
  it('runs the whole transaction again after a deadlock, and counts the retry', async () => {
    const { dataSource, log } = fakeDataSource();
    const runner = new TransactionRunner(dataSource, new DataChanges());
    const before = await retries('unit_deadlock', 'deadlock');
    let calls = 0;
    const result = await runner.run(
      () => {
        calls++;
        if (calls === 1) return Promise.reject(driverError({ errno: 1213 }));
        return Promise.resolve('done');
      },
      { operation: 'unit_deadlock' },
    );
    expect(result).toBe('done');
    expect(calls).toBe(2);
    expect(log).toEqual(['begin', 'rollback', 'release', 'begin', 'commit', 'release']);
    expect(await retries('unit_deadlock', 'deadlock')).toBe(before + 1);
  });

  it('gives up after the last attempt and throws the cause (a race is a 409, not a 500)', async () => {
    const { dataSource } = fakeDataSource();
    const runner = new TransactionRunner(dataSource, new DataChanges());
    let calls = 0;
    const failing = runner.run(() => {
      calls++;
      return Promise.reject(new WriteRaceError());
    });
    await expect(failing).rejects.toMatchObject({ code: 'ALREADY_EXISTS', status: 409 });
    expect(calls).toBe(RETRY_POLICY.attempts);
  });

  it('never runs work that is not replayable twice', async () => {
    const { dataSource } = fakeDataSource();
    const runner = new TransactionRunner(dataSource, new DataChanges());
    let calls = 0;
    await expect(
      runner.run(
        () => {
          calls++;
          return Promise.reject(driverError({ errno: 1213 }));
        },
        { replayable: false },
      ),
    ).rejects.toBeDefined();
    expect(calls).toBe(1);
  });

  it('does not retry a connection lost during COMMIT (it may have committed)', async () => {
    const { dataSource } = fakeDataSource(() =>
      Promise.reject(driverError({ code: 'PROTOCOL_CONNECTION_LOST' })),
    );
    const runner = new TransactionRunner(dataSource, new DataChanges());
    let calls = 0;
    await expect(
      runner.run(() => {
        calls++;
        return Promise.resolve();
      }),
    ).rejects.toMatchObject({ driverError: { code: 'PROTOCOL_CONNECTION_LOST' } });
    expect(calls).toBe(1);
  });

  it('retries a certification failure on COMMIT (Galera answers 1213 there)', async () => {
    let commits = 0;
    const { dataSource } = fakeDataSource(() =>
      ++commits === 1 ? Promise.reject(driverError({ errno: 1213 })) : Promise.resolve(),
    );
    const runner = new TransactionRunner(dataSource, new DataChanges());
    await expect(runner.run(() => Promise.resolve('ok'))).resolves.toBe('ok');
    expect(commits).toBe(2);
  });

  it('closes a lost connection instead of returning it to the pool, then runs again on another', async () => {
    const { dataSource, log } = fakeDataSource();
    const runner = new TransactionRunner(dataSource, new DataChanges());
    let calls = 0;
    const result = await runner.run(() =>
      ++calls === 1
        ? Promise.reject(
            driverError({ errno: 1047, sqlMessage: 'WSREP has not yet prepared node' }),
          )
        : Promise.resolve('ok'),
    );
    expect(result).toBe('ok');
    expect(log).toEqual(['begin', 'destroy', 'release', 'begin', 'commit', 'release']);
  });

  it('does not retry other errors', async () => {
    const { dataSource } = fakeDataSource();
    const runner = new TransactionRunner(dataSource, new DataChanges());
    let calls = 0;
    await expect(
      runner.run(() => {
        calls++;
        return Promise.reject(driverError({ code: 'ER_DUP_ENTRY' }));
      }),
    ).rejects.toBeDefined();
    expect(calls).toBe(1);
  });
});

/** A transaction that records its statements (the savepoints of TransactionRunner.step). */
const stepTx = () => {
  const log: string[] = [];
  const tx = {
    query: (sql: string) => {
      log.push(sql);
      return Promise.resolve();
    },
  } as unknown as QueryRunner;
  return { tx, log };
};

describe('TransactionRunner.step (a transaction that cannot run again)', () => {
  const runner = () => new TransactionRunner(fakeDataSource().dataSource, new DataChanges());

  it('runs a step that met a concurrent insert again from its savepoint, looking at the latest rows', async () => {
    const { tx, log } = stepTx();
    const before = await retries('unit_step', 'race');
    const seen: boolean[] = [];
    const result = await runner().step(
      tx,
      (retry) => {
        seen.push(retry);
        return seen.length === 1 ? Promise.reject(new WriteRaceError()) : Promise.resolve('done');
      },
      'unit_step',
    );
    expect(result).toBe('done');
    expect(seen).toEqual([false, true]);
    expect(log).toEqual([
      'SAVEPOINT tx_step',
      'ROLLBACK TO SAVEPOINT tx_step',
      'SAVEPOINT tx_step',
    ]);
    expect(await retries('unit_step', 'race')).toBe(before + 1);
  });

  it('gives up after the last attempt, and never retries anything but a race', async () => {
    const { tx } = stepTx();
    let calls = 0;
    await expect(
      runner().step(tx, () => {
        calls++;
        return Promise.reject(new WriteRaceError());
      }),
    ).rejects.toBeInstanceOf(WriteRaceError);
    expect(calls).toBe(RETRY_POLICY.attempts);

    // A deadlock rolled the whole transaction back: nothing to go back to.
    const deadlock = driverError({ errno: 1213 });
    const { tx: other, log } = stepTx();
    await expect(runner().step(other, () => Promise.reject(deadlock))).rejects.toBe(deadlock);
    expect(log).toEqual(['SAVEPOINT tx_step']);
  });
});

describe('TransactionRunner.step after a temporary table was read (MariaDB Galera)', () => {
  it('never rolls back to its savepoint: the race fails the transaction instead', async () => {
    const { tx, log } = stepTx();
    markTemporaryRead(tx);
    const runner = new TransactionRunner(fakeDataSource().dataSource, new DataChanges());
    await expect(
      runner.step(tx, () => Promise.reject(new WriteRaceError())),
    ).rejects.toBeInstanceOf(WriteRaceError);
    expect(log).toEqual(['SAVEPOINT tx_step']);
  });
});
