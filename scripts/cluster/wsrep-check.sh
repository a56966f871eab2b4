#!/usr/bin/env bash
# HAProxy external check for one Galera node: passes only when the node is Synced
# (wsrep_local_state = 4) and accepts queries (wsrep_ready = ON). HAProxy's own `option mysql-check`
# only proves the server answers a handshake: it passes a node that has left the primary component
# and answers 1047 to every query.
# HAProxy calls it with: <proxy address> <proxy port> <server address> <server port>.
set -uo pipefail
addr="${3:-${HAPROXY_SERVER_ADDR:-}}"
port="${4:-${HAPROXY_SERVER_PORT:-}}"
[ -n "$addr" ] && [ -n "$port" ] || exit 1
# wsrep_sync_wait = 0: a health check must never wait for the node to catch up.
out="$(mysql --protocol=TCP -h"$addr" -P"$port" -u"${WSREP_CHECK_USER:-root}" --connect-timeout=2 -N -B \
  -e "SET SESSION wsrep_sync_wait=0; SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state','wsrep_ready')" 2>/dev/null)" || exit 1
state="$(awk '$1 == "wsrep_local_state" {print $2}' <<<"$out")"
ready="$(awk '$1 == "wsrep_ready" {print $2}' <<<"$out")"
[ "$state" = 4 ] && [ "$ready" = ON ]
