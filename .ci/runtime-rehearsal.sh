#!/usr/bin/env bash
# Rehearses the Dockerfile's runtime stage without a Docker engine: the same files the stage
# copies (dist/apps, dist/libs, dist/migrations, config, vendor, package.json,
# scripts/healthcheck.mjs), production dependencies only (`npm ci --omit=dev`, as the deps stage,
# without prettier or typescript), code owned by root and run as an unprivileged user with the
# Compose stack's API settings (NODE_ENV=production, API_KEYS, MySQL with migrations at start,
# Redis). Checks: the HEALTHCHECK script passes on /health/ready, a keyed write and a read work,
# the CLI answers, SIGTERM exits 0.
# Usage: .ci/runtime-rehearsal.sh  (after `npm run build`; needs MariaDB and Redis on loopback)
set -euo pipefail
cd "$(dirname "$0")/.."

dir="$(mktemp -d /tmp/hd-runtime.XXXXXX)"
data="$(mktemp -d /tmp/hd-runtime-data.XXXXXX)"
log="${dir}.log"
cp package.json package-lock.json "$dir/"
cp -r vendor "$dir/"
(cd "$dir" && npm ci --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
mkdir -p "$dir/dist" "$dir/scripts"
cp -r dist/apps dist/libs dist/migrations "$dir/dist/"
cp -r config "$dir/"
cp scripts/healthcheck.mjs "$dir/scripts/"
chmod -R a+rX,go-w "$dir"
echo "runtime tree: $(du -sh "$dir" | cut -f1) ($(du -sh "$dir/node_modules" | cut -f1) production node_modules)"
# Build tools the CLI's helpers used to drag in at run time (docs/ARCHITECTURE.md, "Image weight").
for tool in prettier typescript; do
  if [ -e "$dir/node_modules/$tool" ]; then
    echo "runtime rehearsal: $tool is in the production node_modules ($(npm --prefix "$dir" explain "$tool" 2>/dev/null | head -3 | tr '\n' ' '))"
    exit 1
  fi
done

as_user=()
if [ "$(id -u)" = 0 ]; then
  chown nobody "$data"
  # setpriv execs in place (runuser would stay as a parent and turn SIGTERM into exit 143).
  as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
fi
mysql -uroot -h127.0.0.1 -e 'DROP DATABASE IF EXISTS hd_ci_runtime; CREATE DATABASE hd_ci_runtime'
port=$((20000 + RANDOM % 20000))
writer_key="ci-writer-key-000000001"
run_env=(
  env -i "PATH=/usr/bin:/bin" "HOME=$data"
  NODE_ENV=production "PORT=$port" HOST=127.0.0.1
  DATABASE_URL=mysql://root@127.0.0.1:3306/hd_ci_runtime DB_MIGRATIONS_RUN=true
  REDIS_URL=redis://127.0.0.1:6379/14 "REDIS_KEY_PREFIX=hd-ci-runtime-$$:"
  "API_KEYS=ci-admin:ci-admin-key-0000000001:admin,ci-writer:${writer_key}:write"
  LOG_FORMAT=json "UPLOAD_DIR=$data/uploads" OTEL_SDK_DISABLED=true
)
node_bin="$(command -v node)"

(cd "$dir" && exec "${as_user[@]}" "${run_env[@]}" "$node_bin" dist/apps/api/src/main.js) >"$log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  rm -rf "$dir" "$data"
}
trap cleanup EXIT

ready=0
for _ in $(seq 1 60); do
  if (cd "$dir" && PORT=$port node scripts/healthcheck.mjs /health/ready 2>/dev/null); then
    ready=1
    break
  fi
  sleep 0.5
done
if [ $ready -ne 1 ]; then
  echo "runtime rehearsal: /health/ready never passed; server log:"
  cat "$log"
  exit 1
fi
if [ "${#as_user[@]}" -gt 0 ]; then
  owner="$(ps -o user= -p "$pid" | tr -d ' ')"
  [ "$owner" = nobody ] || { echo "server runs as '$owner', expected nobody"; exit 1; }
fi
body='[{"symbol":"CIRT","date":"2024-01-02","open":1,"high":2,"low":1,"close":1.5,"volume":10}]'
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:${port}/api/v1/data" \
  -H 'Content-Type: application/json' -d "$body")"
[ "$code" = 401 ] || { echo "unkeyed write answered $code, expected 401"; exit 1; }
curl -fsS -X POST "http://127.0.0.1:${port}/api/v1/data" -H "X-API-Key: ${writer_key}" \
  -H 'Content-Type: application/json' -d "$body" >/dev/null
curl -fsS "http://127.0.0.1:${port}/api/v1/data?symbol=CIRT" | grep -q '"total":1'
(cd "$dir" && "${as_user[@]}" "${run_env[@]}" LOG_LEVEL=warn "$node_bin" dist/apps/cli/src/main.js migrate show) |
  grep -q '\[X\] CreateHistoricalData'
(cd "$dir" && "${as_user[@]}" "${run_env[@]}" "$node_bin" dist/apps/cli/src/main.js --help) |
  grep -q '^Usage: historical-data '
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
trap - EXIT
rm -rf "$dir" "$data"
if [ $status -ne 0 ]; then
  echo "runtime rehearsal: SIGTERM exit code $status (expected 0); server log:"
  cat "$log"
  exit 1
fi
echo "runtime rehearsal: production deps only (no prettier/typescript), non-root, healthcheck, 401/keyed write/read, CLI, SIGTERM exit 0: ok"
