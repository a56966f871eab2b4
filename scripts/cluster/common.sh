# shellcheck shell=bash
# shellcheck disable=SC2034 # the variables below are read by the scripts that source this file
# Sourced by the scripts in scripts/cluster/: the layout of the local 3-node MariaDB Galera cluster
# and the HAProxy in front of it. Everything lives under CLUSTER_DIR (a temporary directory) and on
# ports derived from CLUSTER_PORT_BASE, so several clusters can run on one host side by side.
#
#   node N (1..3): SQL   CLUSTER_PORT_BASE + 10N + 1   (13311, 13321, 13331)
#                  gcomm CLUSTER_PORT_BASE + 10N + 2   (gmcast.listen_addr)
#                  IST   CLUSTER_PORT_BASE + 10N + 3   (ist.recv_addr)
#                  SST   CLUSTER_PORT_BASE + 10N + 4   (wsrep_sst_receive_address, rsync)
#   HAProxy:       SQL   CLUSTER_PORT_BASE + 6         (13306), stats CLUSTER_PORT_BASE + 7 (13307)
#
# Galera's IST and SST ports default to the cluster port + 1 and 4444 on every node: on one host
# they must be spaced explicitly, which is why every port is set here.

CLUSTER_PORT_BASE="${CLUSTER_PORT_BASE:-13300}"
CLUSTER_DIR="${CLUSTER_DIR:-${TMPDIR:-/tmp}/hd-galera-${CLUSTER_PORT_BASE}}"
CLUSTER_NAME="${CLUSTER_NAME:-hd-galera-${CLUSTER_PORT_BASE}}"
CLUSTER_NODES=(1 2 3)
# Bounded waits (seconds).
CLUSTER_NODE_TIMEOUT="${CLUSTER_NODE_TIMEOUT:-120}"
CLUSTER_STOP_TIMEOUT="${CLUSTER_STOP_TIMEOUT:-60}"
GALERA_PROVIDER="${GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}"
MARIADBD="${MARIADBD:-/usr/sbin/mariadbd}"
HAPROXY="${HAPROXY:-/usr/sbin/haproxy}"
CLUSTER_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

sql_port() { echo $((CLUSTER_PORT_BASE + 10 * $1 + 1)); }
gcomm_port() { echo $((CLUSTER_PORT_BASE + 10 * $1 + 2)); }
ist_port() { echo $((CLUSTER_PORT_BASE + 10 * $1 + 3)); }
sst_port() { echo $((CLUSTER_PORT_BASE + 10 * $1 + 4)); }
haproxy_port() { echo $((CLUSTER_PORT_BASE + 6)); }
haproxy_stats_port() { echo $((CLUSTER_PORT_BASE + 7)); }
node_dir() { echo "${CLUSTER_DIR}/node$1"; }
# The PID of the mariadbd process as started (mariadbd writes its own pid-file only once it is up,
# after a state transfer).
node_pidfile() { echo "$(node_dir "$1")/node.pid"; }
haproxy_pidfile() { echo "${CLUSTER_DIR}/haproxy.pid"; }

log() { printf '[cluster] %s\n' "$*" >&2; }
die() {
  printf '[cluster] error: %s\n' "$*" >&2
  exit 1
}

# The PID recorded in FILE if that process is alive and its command line contains MATCH (a PID
# reused by another program after a crash is never signalled).
live_pid() {
  local file="$1" match="$2" pid
  [ -f "$file" ] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  [ -n "$pid" ] || return 1
  [ -r "/proc/${pid}/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -qF -- "$match" || return 1
  echo "$pid"
}

node_pid() { live_pid "$(node_pidfile "$1")" "$(node_dir "$1")/my.cnf"; }
haproxy_pid() { live_pid "$(haproxy_pidfile)" "${CLUSTER_DIR}/haproxy.cfg"; }

# Runs SQL on node N over TCP as root (no password: a local test cluster bound to 127.0.0.1).
node_sql() {
  local n="$1"
  shift
  mysql --protocol=TCP -h127.0.0.1 -P"$(sql_port "$n")" -uroot --connect-timeout=2 -N -B "$@"
}

# wsrep_local_state of node N (4 = Synced), empty when it does not answer.
node_state() {
  node_sql "$1" -e "SET SESSION wsrep_sync_wait=0; SHOW STATUS LIKE 'wsrep_local_state'" 2>/dev/null |
    awk '{print $2}'
}

cluster_size() {
  node_sql "$1" -e "SHOW STATUS LIKE 'wsrep_cluster_size'" 2>/dev/null | awk '{print $2}'
}

# Sends SIGNAL to PID and waits up to TIMEOUT seconds for it to exit; SIGKILL after that.
stop_pid() {
  local pid="$1" signal="$2" timeout="$3" what="$4"
  kill "-${signal}" "$pid" 2>/dev/null || return 0
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((timeout * 10)) ]; then
      log "${what} (pid ${pid}) still running after ${timeout}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}
