import { mysqlBaseUrl, withServer } from './mysql-test-db';

export default async function globalTeardown(): Promise<void> {
  const prefix = process.env.TEST_MYSQL_RUN_PREFIX;
  if (!mysqlBaseUrl() || !prefix) return;
  await withServer(async (conn) => {
    const [rows] = await conn.query('SHOW DATABASES LIKE ?', [`${prefix}\\_w%`]);
    for (const row of rows as Record<string, string>[]) {
      await conn.query(`DROP DATABASE \`${Object.values(row)[0]}\``);
    }
  });
}
