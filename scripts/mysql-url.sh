# shellcheck shell=bash
# Sourced by backup.sh and restore.sh: splits DATABASE_URL (mysql://user:pass@host:port/db, the
# service's own format, percent-encoded parts allowed) into DB_USER, DB_PASSWORD, DB_HOST, DB_PORT
# and DB_NAME, and writes a client option file so the password never appears in `ps`.

urldecode() {
  local s="${1//+/ }"
  printf '%b' "${s//%/\\x}"
}

parse_database_url() {
  local url="$1"
  local re='^mysql://([^:@/]*)(:([^@/]*))?@([^:/?]+)(:([0-9]+))?/([^?]+)(\?.*)?$'
  if [[ ! "$url" =~ $re ]]; then
    echo "DATABASE_URL must look like mysql://user:password@host:3306/database" >&2
    return 1
  fi
  DB_USER="$(urldecode "${BASH_REMATCH[1]}")"
  DB_PASSWORD="$(urldecode "${BASH_REMATCH[3]}")"
  DB_HOST="${BASH_REMATCH[4]}"
  DB_PORT="${BASH_REMATCH[6]:-3306}"
  DB_NAME="$(urldecode "${BASH_REMATCH[7]}")"
  export DB_USER DB_PASSWORD DB_HOST DB_PORT DB_NAME
}

# Writes [client] options for DB_* to a private temporary file; prints its path.
client_options_file() {
  local file
  file="$(mktemp)"
  chmod 600 "$file"
  {
    echo "[client]"
    echo "user=$DB_USER"
    echo "password=\"${DB_PASSWORD//\"/\\\"}\""
    echo "host=$DB_HOST"
    echo "port=$DB_PORT"
    echo "protocol=tcp"
  } >"$file"
  echo "$file"
}

# The dump and client programs: MySQL's names, or MariaDB's where those are missing.
find_tool() {
  local name
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then
      echo "$name"
      return 0
    fi
  done
  echo "none of these is installed: $*" >&2
  return 1
}
