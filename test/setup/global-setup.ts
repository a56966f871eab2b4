import { execSync } from 'node:child_process';
import { join } from 'node:path';
import { mysqlBaseUrl, withServer } from './mysql-test-db';

export default async function globalSetup(): Promise<void> {
  // The process-level specs run the built server (dist/), as `npm run start:prod` does.
  execSync('node scripts/build-if-needed.mjs', {
    cwd: join(__dirname, '../..'),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = mysqlBaseUrl();
  if (!base) {
    console.log('\n[e2e] MySQL/MariaDB: SKIPPED (TEST_MYSQL_URL not set); SQLite only.');
    return;
  }
  const name = decodeURIComponent(base.pathname.slice(1));
  const prefix = `${name}_r${Date.now().toString(36)}`;
  process.env.TEST_MYSQL_RUN_PREFIX = prefix;
  const version = await withServer(async (conn) => {
    const [rows] = await conn.query('SELECT VERSION() AS v');
    return (rows as { v: string }[])[0].v;
  });
  console.log(`\n[e2e] MySQL/MariaDB ${version} at ${base.host}: databases ${prefix}_w*`);
}
