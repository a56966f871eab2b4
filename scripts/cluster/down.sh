#!/usr/bin/env bash
# `npm run cluster:down`: stops HAProxy and the three nodes by the PIDs recorded under CLUSTER_DIR
# (SIGTERM, bounded wait, then SIGKILL) and removes CLUSTER_DIR. Idempotent. KEEP_CLUSTER_DIR=1
# keeps the data and logs for a post-mortem.
set -euo pipefail
# shellcheck source=scripts/cluster/common.sh
. "$(dirname "$0")/common.sh"

if pid="$(haproxy_pid)"; then
  stop_pid "$pid" TERM 10 haproxy
  log "haproxy stopped"
fi
# The joiners first, the bootstrap node last: a clean shutdown order leaves one node marked safe to
# bootstrap.
for n in 3 2 1; do
  "${CLUSTER_SCRIPTS}/node.sh" stop "$n"
done
if [ "${KEEP_CLUSTER_DIR:-}" != 1 ] && [ -d "$CLUSTER_DIR" ]; then
  rm -rf "$CLUSTER_DIR"
  log "removed ${CLUSTER_DIR}"
fi
log "cluster down"
