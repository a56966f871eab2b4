import { createConnection } from 'mysql2/promise';

/**
 * The MySQL/MariaDB side of the e2e suite. TEST_MYSQL_URL names a server and a base database
 * whose name must contain "test"; each run and each jest worker gets its own database derived
 * from it, created on first use and dropped at the end of the run.
 */
export function mysqlBaseUrl(): URL | undefined {
  const raw = process.env.TEST_MYSQL_URL;
  if (!raw) return undefined;
  const url = new URL(raw);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/test/i.test(name)) {
    throw new Error(
      `Refusing to run e2e tests against database "${name}": TEST_MYSQL_URL must name a database containing "test".`,
    );
  }
  return url;
}

export function runPrefix(): string {
  const base = mysqlBaseUrl();
  const prefix = process.env.TEST_MYSQL_RUN_PREFIX;
  if (!base || !prefix) throw new Error('MySQL e2e run not prepared (global setup did not run)');
  return prefix;
}

export async function withServer<T>(
  work: (conn: Awaited<ReturnType<typeof createConnection>>) => Promise<T>,
): Promise<T> {
  const base = mysqlBaseUrl()!;
  const conn = await createConnection({
    host: base.hostname,
    port: Number(base.port || 3306),
    user: decodeURIComponent(base.username),
    password: decodeURIComponent(base.password),
  });
  try {
    return await work(conn);
  } finally {
    await conn.end();
  }
}

/**
 * This worker's database URL, creating the database if needed. With `fresh`, a database of this
 * worker's own for that one purpose, dropped and created empty: for specs that count rows and
 * must not see what earlier spec files in the same worker left behind.
 */
export async function workerDatabaseUrl(fresh?: string): Promise<string> {
  const name = `${runPrefix()}_w${process.env.JEST_WORKER_ID ?? '1'}${fresh ? `_${fresh}` : ''}`;
  await withServer(async (conn) => {
    if (fresh) await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  });
  const url = new URL(mysqlBaseUrl()!.toString());
  url.pathname = `/${name}`;
  return url.toString();
}
