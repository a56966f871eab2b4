#!/usr/bin/env node
// The read path's performance budget from a V8 CPU profile (node --cpu-prof): main-thread time per
// request, by layer. usage:
//   node scripts/profile-layers.mjs FILE.cpuprofile --from S --to S --requests N
// --from/--to: seconds from the profile's start (the load window); --requests: served in it.
// Self time of each sampled frame is given to the first layer whose pattern matches its script
// (or, for native frames, its name). Socket writes are kept apart: they are system-call time
// that the bare server pays alike.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const file = args.find((a) => a.endsWith('.cpuprofile'));
if (!file) {
  console.error('usage: profile-layers.mjs FILE.cpuprofile --from S --to S --requests N');
  process.exit(64);
}
const from = Number(opt('--from', 0)) * 1e6;
const to = Number(opt('--to', Infinity)) * 1e6;
const requests = Number(opt('--requests', 1));

/** [layer, pattern on "url functionName"], first match wins. */
export const LAYERS = [
  ['garbage collection', /^ \(garbage collector\)$/],
  ['idle', /^ \(idle\)$/],
  [
    'socket and file writes (syscalls)',
    /^ \(?(writeBuffer|writev|writeString|writeUtf8String|writeLatin1String)\)?$/,
  ],
  ['logging', /(pino|sonic-boom|nestjs-pino|logger\.module|@pinojs)/],
  ['metrics', /(prom-client|observability\/src\/metrics|tdigest|bintrees)/],
  ['cache', /(cache\.interceptor|response-cache|lru-cache|canonical-query)/],
  ['guards (auth, rate limit)', /(@nestjs\/throttler|security\/|client-identity)/],
  [
    'pipes (query validation)',
    /(class-validator|class-transformer|validator\/|validation\.pipe|query\.parser|list-bars\.query)/,
  ],
  [
    'interceptors (timeout, rxjs)',
    /(rxjs|timeout\.interceptor|request-deadline|interceptors-consumer)/,
  ],
  [
    'query (driver, repository)',
    /(mysql2|typeorm|sql-escaper|better-sqlite3|historical-data\.repository|read-pool|lru\.min|generate-function|named-placeholders|long|iconv-lite)/,
  ],
  [
    'serialisation (JSON, ETag)',
    /(json-text|bar\.json|etag|node:internal\/crypto\/hash|response\.js stringify| (stringify|Hash|update|digest)$)/,
  ],
  [
    'routing (Express, Nest)',
    /(express|router|@nestjs\/core|@nestjs\/platform-express|@nestjs\/common|path-to-regexp|parseurl|on-finished|on-headers|finalhandler|qs|content-type|mime|vary|encodeurl|send\/|list-fast-path)/,
  ],
  ['security headers, compression', /(helmet|compression|app\.setup)/],
  [
    'node HTTP and streams',
    /(node:_http|node:net|node:internal\/streams|node:events|node:internal\/http|node:stream|node:buffer|node:internal\/buffer|_http_)/,
  ],
  [
    'async context, promises, timers',
    /(async_hooks|node:internal\/process\/task_queues|node:timers|node:internal\/timers|\(runMicrotasks\)|node:internal\/util)/,
  ],
];

const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const layerOf = new Map();
const classify = (node) => {
  let layer = layerOf.get(node.id);
  if (layer) return layer;
  const key = `${node.callFrame.url} ${node.callFrame.functionName}`;
  layer = LAYERS.find(([, re]) => re.test(key))?.[0] ?? 'other (project, V8, native)';
  layerOf.set(node.id, layer);
  return layer;
};
const totals = new Map();
let t = profile.startTime;
let window = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i];
  t += dt;
  const at = t - profile.startTime;
  if (at < from || at > to) continue;
  window += dt;
  const layer = classify(byId.get(profile.samples[i]));
  totals.set(layer, (totals.get(layer) ?? 0) + dt);
}
const busy = window - (totals.get('idle') ?? 0);
console.log(`| layer | µs/request | share of busy time |`);
console.log(`|---|---:|---:|`);
for (const [layer, us] of [...totals].filter(([l]) => l !== 'idle').sort((a, b) => b[1] - a[1])) {
  console.log(`| ${layer} | ${(us / requests).toFixed(0)} | ${((us / busy) * 100).toFixed(1)} % |`);
}
console.log(`| **total (busy)** | **${(busy / requests).toFixed(0)}** | 100 % |`);
console.log(`| idle | ${((totals.get('idle') ?? 0) / requests).toFixed(0)} | |`);
