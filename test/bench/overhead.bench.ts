/**
 * `npm run bench:overhead`: what logging, metrics and tracing each cost on GET /api/v1/data, and
 * all three together, against the same server with all three off — every configuration measured
 * in the same run, interleaved over rounds so drift hits them alike.
 *   logging  LOG_LEVEL=info, one JSON line per request to stdout (discarded: /dev/null)
 *   metrics  METRICS_ENABLED=true: request and database histograms
 *   tracing  OTLP/HTTP export to a local receiver in this process: every request (always_on),
 *            and 10 % of them (parentbased_traceidratio 0.1, a typical production setting)
 * Loopback only; each phase is bounded in time. BENCH_DATABASE_URL is dropped and recreated.
 */
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  bars,
  DAYS,
  DB_URL,
  fmt,
  load,
  postBars,
  resetDatabase,
  root,
  SECONDS,
  server,
  SYMBOLS,
  BENCH_ENV,
  API_NODE_FLAGS,
} from './support';

const PORT = 3910;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP_SECONDS = 2;

type Feature = 'logging' | 'metrics' | 'tracing';
/** `ratio`: the traceidratio sampler's ratio; 1 = every request traced (always_on). */
const CONFIGS: { name: string; on: Feature[]; ratio?: number }[] = [
  { name: 'all off (baseline)', on: [] },
  { name: 'logging only', on: ['logging'] },
  { name: 'metrics only', on: ['metrics'] },
  { name: 'logging + metrics', on: ['logging', 'metrics'] },
  { name: 'all on, 10% sampled', on: ['logging', 'metrics', 'tracing'], ratio: 0.1 },
  { name: 'all on, 100% traced', on: ['logging', 'metrics', 'tracing'] },
];

/** Accepts OTLP exports and throws them away, counting spans. */
async function otlpSink(): Promise<{ url: string; spans: () => number; close: () => void }> {
  let spans = 0;
  const sink = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      spans += (body.match(/"spanId"/g) ?? []).length;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
    spans: () => spans,
    close: () => sink.close(),
  };
}

async function main(): Promise<void> {
  const version = await resetDatabase();
  const sink = await otlpSink();
  console.log(
    `Observability overhead on ${version}: GET /api/v1/data at ${CONNECTIONS} connections, ` +
      `${ROUNDS} rounds x ${SECONDS}s per configuration (after ${WARMUP_SECONDS}s warm-up)\n`,
  );
  const entry = join(root, 'dist/apps/api/src/main.js');
  const envFor = (on: Feature[], ratio = 1): Record<string, string> => ({
    DATABASE_URL: DB_URL.toString(),
    ...BENCH_ENV,
    DB_MIGRATIONS_RUN: 'true',
    LOG_LEVEL: on.includes('logging') ? 'info' : 'silent',
    LOG_FORMAT: 'json',
    METRICS_ENABLED: String(on.includes('metrics')),
    OTEL_EXPORTER_OTLP_ENDPOINT: on.includes('tracing') ? sink.url : '',
    OTEL_TRACES_SAMPLER: ratio === 1 ? 'always_on' : 'parentbased_traceidratio',
    // The production stack: the response cache on (random keys: it rarely hits).
    CACHE_ENABLED: 'true',
    OTEL_TRACES_SAMPLER_ARG: String(ratio),
  });

  // Seed 200 symbols x 1000 days through the API.
  const seeder = await server(entry, PORT, envFor([]));
  for (let s = 0; s < SYMBOLS; s += 10) await postBars(PORT, bars(s, 10 * DAYS));
  seeder.kill('SIGTERM');
  await new Promise((r) => seeder.once('exit', r));

  const results = new Map<string, number[]>(CONFIGS.map((c) => [c.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const config of CONFIGS) {
      const child = await server(
        entry,
        PORT,
        envFor(config.on, config.ratio),
        undefined,
        API_NODE_FLAGS,
      );
      await load(PORT, CONNECTIONS, WARMUP_SECONDS);
      const r = await load(PORT, CONNECTIONS, SECONDS);
      if (r.errors + r.non2xx > 0)
        throw new Error(`${config.name}: ${r.errors} errors, ${r.non2xx} non-2xx`);
      results.get(config.name)!.push(r.requests.average);
      child.kill('SIGTERM');
      await new Promise((res) => child.once('exit', res));
    }
  }

  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const base = mean(results.get(CONFIGS[0].name)!);
  for (const config of CONFIGS) {
    const runs = results.get(config.name)!;
    const avg = mean(runs);
    const cost =
      config.on.length === 0 ? '' : `cost ${((1 - avg / base) * 100).toFixed(1).padStart(5)} %`;
    console.log(
      `  ${config.name.padEnd(20)} ${fmt(avg).padStart(6)} req/s  (runs ${runs.map(fmt).join(', ')})  ${cost}`,
    );
  }
  const rate = (name: string): number => mean(results.get(name)!);
  // The tracing tax: the same server with logging and metrics on, tracing on vs off.
  const untraced = rate('logging + metrics');
  for (const [name, label] of [
    ['all on, 10% sampled', '10 % sampling (parentbased_traceidratio 0.1)'],
    ['all on, 100% traced', '100 % sampling (always_on)'],
  ]) {
    const tax = 1 - rate(name) / untraced;
    console.log(
      `\n  tracing at ${label} costs ${(tax * 100).toFixed(1)} % of GET throughput ` +
        `(logging + metrics on in both)${name.includes('10%') ? ` — target <= 15 %: ${tax <= 0.15 ? 'met' : 'NOT met'}` : ''}`,
    );
  }
  const all = 1 - rate('all on, 10% sampled') / base;
  console.log(
    `  logging + metrics + tracing at 10 % together cost ${(all * 100).toFixed(1)} % of the all-off baseline`,
  );
  console.log(`  (${fmt(sink.spans())} spans received by the OTLP sink)`);
  sink.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
