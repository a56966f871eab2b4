/**
 * SQLite has one writer, and TypeORM's better-sqlite3 driver shares one connection: two
 * overlapping transactions would nest as savepoints of each other. Every SQLite write therefore
 * runs through this FIFO lock.
 */
export class WriteLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
