/**
 * `npm run bench:read`: the read API beyond one page, on MySQL/MariaDB with 1 000 000 bars (200
 * symbols x 5 000 days), each figure beside its baseline from the same run. Loopback only; every
 * phase is bounded. BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/hd_bench) is dropped
 * and recreated.
 */
import { join } from 'node:path';
import { cursorSection } from './read-cursor';
import { BENCH_ENV, DB_NAME, DB_URL, resetDatabase, root, seedMillion, server } from './support';

async function main(): Promise<void> {
  const version = await resetDatabase();
  console.log(`Read benchmarks on ${version}, database ${DB_NAME}\n`);
  // A server run once to create the schema (DB_MIGRATIONS_RUN), then the data set.
  const migrator = await server(join(root, 'dist/apps/api/src/main.js'), 3929, {
    DATABASE_URL: DB_URL.toString(),
    ...BENCH_ENV,
    DB_MIGRATIONS_RUN: 'true',
    LOG_LEVEL: 'warn',
  });
  migrator.kill('SIGTERM');
  await new Promise((r) => migrator.once('exit', r));
  await seedMillion();
  await cursorSection();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
