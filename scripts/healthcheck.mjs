// Container health probe: `node scripts/healthcheck.mjs [path]` exits 0 when the API on this
// host answers the path (default /health) with 2xx within HEALTHCHECK_TIMEOUT_MS, else 1.
// The runtime image has no curl or wget; Node's fetch does the job with nothing added.
const path = process.argv[2] ?? '/health';
const port = process.env.PORT || '3000';
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS || 4000);
const url = `http://127.0.0.1:${port}${path}`;

try {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) {
    console.error(`healthcheck: ${url} answered ${res.status}`);
    process.exit(1);
  }
  process.exit(0);
} catch (err) {
  console.error(`healthcheck: ${url} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
