#!/usr/bin/env bash
# `npm run cluster:up`: a 3-node MariaDB Galera cluster and HAProxy in front of it, on this host.
# Idempotent: nodes and HAProxy already running are left alone; a node that is down is started
# and rejoins. With no node running, the cluster is bootstrapped from scratch (its data is
# disposable: it lives under CLUSTER_DIR). Prints the HAProxy URL and the time taken.
set -euo pipefail
# shellcheck source=scripts/cluster/common.sh
. "$(dirname "$0")/common.sh"

started=$(date +%s%N)
command -v mysql >/dev/null || die "the mysql client is missing (apt-get install mariadb-client)"
[ -x "$MARIADBD" ] || die "${MARIADBD} is missing (apt-get install mariadb-server)"
[ -f "$GALERA_PROVIDER" ] || die "${GALERA_PROVIDER} is missing (apt-get install galera-4)"
[ -x "$HAPROXY" ] || die "${HAPROXY} is missing (apt-get install haproxy)"
command -v rsync >/dev/null || die "rsync is missing (state transfer needs it: apt-get install rsync)"
id mysql >/dev/null 2>&1 || die "the nodes run as user mysql, which does not exist"
[ "$(id -u)" = 0 ] || die "run as root (the nodes are started as user mysql)"

mkdir -p "$CLUSTER_DIR"
chmod 755 "$CLUSTER_DIR"

running=()
for n in "${CLUSTER_NODES[@]}"; do
  if node_pid "$n" >/dev/null; then running+=("$n"); fi
done
if [ ${#running[@]} -eq 0 ]; then
  for n in "${CLUSTER_NODES[@]}"; do rm -rf "$(node_dir "$n")"; done
  "${CLUSTER_SCRIPTS}/node.sh" start 1 --bootstrap
  # Clients connect over TCP from 127.0.0.1 (skip-name-resolve: 'localhost' does not match it).
  mysql --socket="$(node_dir 1)/mariadbd.sock" -uroot -e "
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
fi
# Joiners one at a time: each takes a full state transfer (rsync) from a donor.
for n in "${CLUSTER_NODES[@]}"; do
  "${CLUSTER_SCRIPTS}/node.sh" start "$n"
done

if pid="$(haproxy_pid)"; then
  log "haproxy already running (pid ${pid})"
else
  cat >"${CLUSTER_DIR}/haproxy.cfg" <<CFG
global
  # The wsrep-aware health check is an external program.
  external-check
  insecure-fork-wanted
  maxconn 2000

defaults
  mode tcp
  timeout connect 2s
  timeout client 1h
  timeout server 1h
  timeout check 3s

listen galera
  bind 127.0.0.1:$(haproxy_port)
  # One writer at a time: node1 takes every connection, node2 then node3 only while the ones
  # before them are down. Concurrent writes of the same keys on two nodes (multi-master) stalled
  # MariaDB 10.11.19's appliers for good after a BF abort (docs/OPERATIONS.md, "Scale-out on
  # Galera"). A node that fails its check has its sessions cut at once; when node1 is back, the
  # sessions on the backup are cut too, so two nodes never take writes side by side for long.
  option external-check
  external-check path "/usr/bin:/bin"
  external-check command ${CLUSTER_SCRIPTS}/wsrep-check.sh
  default-server inter 1s fastinter 500ms downinter 1s rise 2 fall 2 on-marked-down shutdown-sessions on-marked-up shutdown-backup-sessions
$(for n in "${CLUSTER_NODES[@]}"; do echo "  server node${n} 127.0.0.1:$(sql_port "$n") check$([ "$n" = 1 ] || echo ' backup')"; done)

listen stats
  mode http
  bind 127.0.0.1:$(haproxy_stats_port)
  stats enable
  stats uri /
  stats refresh 2s
CFG
  "$HAPROXY" -c -q -f "${CLUSTER_DIR}/haproxy.cfg" || die "haproxy rejected ${CLUSTER_DIR}/haproxy.cfg"
  setsid "$HAPROXY" -f "${CLUSTER_DIR}/haproxy.cfg" -D -p "$(haproxy_pidfile)" \
    >>"${CLUSTER_DIR}/haproxy.log" 2>&1 </dev/null
  log "haproxy: SQL 127.0.0.1:$(haproxy_port), stats http://127.0.0.1:$(haproxy_stats_port)/"
fi

# Ready when HAProxy has seen every node pass its check.
waited=0
up=0
while [ "$waited" -lt $((CLUSTER_NODE_TIMEOUT * 2)) ]; do
  up="$(curl -fsS "http://127.0.0.1:$(haproxy_stats_port)/;csv" 2>/dev/null |
    awk -F, '$1 == "galera" && $2 ~ /^node/ && $18 == "UP" {c++} END {print c + 0}')"
  [ "$up" = "${#CLUSTER_NODES[@]}" ] && break
  sleep 0.5
  waited=$((waited + 1))
done
[ "$up" = "${#CLUSTER_NODES[@]}" ] || die "HAProxy sees ${up} of ${#CLUSTER_NODES[@]} nodes UP after ${CLUSTER_NODE_TIMEOUT}s: see ${CLUSTER_DIR}/haproxy.log"

elapsed_ms=$((($(date +%s%N) - started) / 1000000))
log "cluster up in $((elapsed_ms / 1000)).$((elapsed_ms % 1000 / 100)) s: ${#CLUSTER_NODES[@]} nodes Synced, all UP in HAProxy"
echo "mysql://root@127.0.0.1:$(haproxy_port)"
