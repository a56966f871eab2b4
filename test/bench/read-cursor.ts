/**
 * bench:read, cursor section: page 1 and page 5 000 of GET /api/v1/data over every bar (1 000 000
 * bars, 100 rows a page, no filter), by OFFSET and by cursor, on the API with the response cache
 * off (each request reaches the database). Prints the median latency of each, client-observed.
 */
import { join } from 'node:path';
import { API_NODE_FLAGS, BENCH_ENV, DB_URL, root, server } from './support';

const PORT = 3920;
const PAGE = 5000;
const LIMIT = 100;

async function timed(
  url: string,
): Promise<{ ms: number; body: { pagination: { nextCursor: string | null } } }> {
  const t0 = performance.now();
  const res = await fetch(url);
  const body = (await res.json()) as { pagination: { nextCursor: string | null } };
  if (res.status !== 200)
    throw new Error(`${url}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
  return { ms: performance.now() - t0, body };
}

async function median(url: string, runs: number): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push((await timed(url)).ms);
  return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)];
}

/** Expects the 1 000 000-bar data set to be seeded (seedMillion). */
export async function cursorSection(): Promise<void> {
  const api = await server(
    join(root, 'dist/apps/api/src/main.js'),
    PORT,
    { DATABASE_URL: DB_URL.toString(), ...BENCH_ENV, DB_MIGRATIONS_RUN: 'true', LOG_LEVEL: 'warn' },
    undefined,
    API_NODE_FLAGS,
  );
  try {
    const base = `http://127.0.0.1:${PORT}/api/v1/data?limit=${LIMIT}`;
    // The cursor that continues after page PAGE - 1 (reached once by OFFSET).
    const cursor = (await timed(`${base}&page=${PAGE - 1}`)).body.pagination.nextCursor;
    if (!cursor) throw new Error('no cursor after page 4 999: is the data set seeded?');
    const page1 = await median(`${base}&page=1`, 21);
    const offset = await median(`${base}&page=${PAGE}`, 5);
    const viaCursor = await median(`${base}&cursor=${encodeURIComponent(cursor)}`, 21);
    console.log(
      `GET /api/v1/data, ${LIMIT} rows a page over every bar, no filter (cache off; median latency)`,
    );
    console.log(`  page 1 (OFFSET 0, with COUNT)             ${page1.toFixed(1).padStart(8)} ms`);
    console.log(
      `  page ${PAGE} by OFFSET ${(PAGE - 1) * LIMIT} (with COUNT) ${offset.toFixed(1).padStart(8)} ms   ${(offset / page1).toFixed(1)}x page 1`,
    );
    console.log(
      `  page ${PAGE} by cursor (no OFFSET, no COUNT) ${viaCursor.toFixed(1).padStart(8)} ms   ${(viaCursor / page1).toFixed(2)}x page 1 (target <= 2x): ${viaCursor <= 2 * page1 ? 'met' : 'NOT met'}\n`,
    );
  } finally {
    api.kill('SIGTERM');
    await new Promise((r) => api.once('exit', r));
  }
}
