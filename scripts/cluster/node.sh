#!/usr/bin/env bash
# One Galera node of the local cluster: start | stop | kill | status N.
#   start N [--bootstrap]  starts node N as user mysql (joining the others, or bootstrapping a new
#                          cluster) and waits until it is Synced (wsrep_local_state = 4)
#   stop N                 SIGTERM, bounded wait, then SIGKILL
#   kill N                 SIGKILL at once (the failover drill)
#   status N               prints the node's wsrep_local_state (4 = Synced), exit 1 when down
set -euo pipefail
# shellcheck source=scripts/cluster/common.sh
. "$(dirname "$0")/common.sh"

write_config() {
  local n="$1" dir peers="" i
  dir="$(node_dir "$n")"
  for i in "${CLUSTER_NODES[@]}"; do
    peers="${peers:+${peers},}127.0.0.1:$(gcomm_port "$i")"
  done
  cat >"${dir}/my.cnf" <<CNF
[mariadbd]
user = mysql
datadir = ${dir}/data
socket = ${dir}/mariadbd.sock
pid-file = ${dir}/mariadbd.pid
log-error = ${dir}/error.log
port = $(sql_port "$n")
bind-address = 127.0.0.1
skip-name-resolve
character-set-server = utf8mb4
collation-server = utf8mb4_bin
local_infile = 1
max_allowed_packet = 256M
max_connections = 300
# Small and relaxed: a test cluster on a shared 2-core machine, not a production config.
innodb_buffer_pool_size = 128M
innodb_log_file_size = 64M
innodb_flush_log_at_trx_commit = 2
performance_schema = OFF
# Galera requirements.
binlog_format = ROW
default_storage_engine = InnoDB
innodb_autoinc_lock_mode = 2
wsrep_on = ON
wsrep_provider = ${GALERA_PROVIDER}
wsrep_cluster_name = ${CLUSTER_NAME}
wsrep_cluster_address = gcomm://${peers}
wsrep_node_name = node${n}
wsrep_node_address = 127.0.0.1:$(gcomm_port "$n")
wsrep_node_incoming_address = 127.0.0.1:$(sql_port "$n")
wsrep_provider_options = "gmcast.listen_addr=tcp://127.0.0.1:$(gcomm_port "$n");ist.recv_addr=127.0.0.1:$(ist_port "$n");gcache.size=256M"
wsrep_sst_method = rsync
wsrep_sst_receive_address = 127.0.0.1:$(sst_port "$n")
# One applier: enough for one writer on a shared 2-core host (the spec's runs here used 1).
wsrep_slave_threads = 1
# Read-your-writes across nodes: a read waits until the node has applied what the cluster
# committed before it (health checks set it back to 0 for their session).
wsrep_sync_wait = 1
CNF
}

start_node() {
  local n="$1" bootstrap="${2:-}" dir pid
  dir="$(node_dir "$n")"
  if pid="$(node_pid "$n")"; then
    log "node${n} already running (pid ${pid})"
  else
    mkdir -p "${dir}/data"
    write_config "$n"
    if [ -n "$bootstrap" ] && [ ! -d "${dir}/data/mysql" ]; then
      log "node${n}: initialising a new data directory"
      mariadb-install-db --defaults-file="${dir}/my.cnf" --user=mysql --skip-test-db \
        --auth-root-authentication-method=normal --wsrep-on=OFF >"${dir}/install.log" 2>&1 ||
        die "mariadb-install-db failed for node${n}: see ${dir}/install.log"
    fi
    chown -R mysql:mysql "$dir"
    if [ -n "$bootstrap" ]; then
      # A fresh bootstrap is safe here: this node holds the newest state (it is the only one).
      sed -i 's/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/' "${dir}/data/grastate.dat" 2>/dev/null || true
    fi
    log "node${n}: starting (SQL $(sql_port "$n"), gcomm $(gcomm_port "$n"), IST $(ist_port "$n"), SST $(sst_port "$n"))${bootstrap:+, bootstrapping a new cluster}"
    # --defaults-file must come first. setsid: the node outlives the shell that started it.
    setsid "$MARIADBD" --defaults-file="${dir}/my.cnf" ${bootstrap:+--wsrep-new-cluster} \
      >>"${dir}/console.log" 2>&1 </dev/null &
    echo $! >"$(node_pidfile "$n")"
  fi
  local waited=0 state=""
  while [ "$waited" -lt $((CLUSTER_NODE_TIMEOUT * 2)) ]; do
    state="$(node_state "$n" || true)"
    [ "$state" = 4 ] && break
    if [ "$waited" -gt 10 ] && ! node_pid "$n" >/dev/null; then
      tail -n 30 "${dir}/error.log" >&2 || true
      die "node${n} exited while starting: see ${dir}/error.log"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  if [ "$state" != 4 ]; then
    tail -n 30 "${dir}/error.log" >&2 || true
    die "node${n} not Synced after ${CLUSTER_NODE_TIMEOUT}s (wsrep_local_state=${state:-no answer}): see ${dir}/error.log"
  fi
  log "node${n}: Synced (pid $(node_pid "$n"), cluster size $(cluster_size "$n"))"
}

cmd="${1:-}"
n="${2:-}"
case "$n" in 1 | 2 | 3) ;; *) die "usage: $0 start|stop|kill|status N [--bootstrap] (N = 1, 2 or 3)" ;; esac
case "$cmd" in
  start)
    bootstrap=""
    if [ "${3:-}" = --bootstrap ]; then bootstrap=yes; fi
    start_node "$n" "$bootstrap"
    ;;
  stop)
    if pid="$(node_pid "$n")"; then
      stop_pid "$pid" TERM "$CLUSTER_STOP_TIMEOUT" "node${n}"
      log "node${n} stopped"
    fi
    ;;
  kill)
    if pid="$(node_pid "$n")"; then
      kill -KILL "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      log "node${n} killed (SIGKILL, pid ${pid})"
    else
      die "node${n} is not running"
    fi
    ;;
  status)
    state="$(node_state "$n" || true)"
    echo "${state:-down}"
    [ "$state" = 4 ]
    ;;
  *) die "usage: $0 start|stop|kill|status N [--bootstrap]" ;;
esac
