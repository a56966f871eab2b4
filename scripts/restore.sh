#!/usr/bin/env bash
# Restores a dump made by scripts/backup.sh into the database DATABASE_URL names.
#
#   DATABASE_URL=mysql://user:pass@host:3306/historical scripts/restore.sh <file.sql.gz> [--yes]
#
# The dump drops and recreates each table it holds, so the tables end up exactly as they were at
# backup time (rows and the migrations record). Stop the API (or scale it to 0) first: requests
# served during a restore see half-restored tables. Checks before touching the database: the
# archive is sound gzip and, when a .sha256 file sits beside it, matches it. Asks for
# confirmation unless --yes is given or RESTORE_CONFIRM=yes.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/mysql-url.sh
. "$here/mysql-url.sh"

file="${1:-}"
if [ -z "$file" ] || [ ! -f "$file" ]; then
  echo "usage: DATABASE_URL=mysql://... $0 <backup.sql.gz> [--yes]" >&2
  exit 64
fi
confirm="${RESTORE_CONFIRM:-}"
[ "${2:-}" = "--yes" ] && confirm=yes

: "${DATABASE_URL:?DATABASE_URL must be set (mysql://user:pass@host:3306/database)}"
parse_database_url "$DATABASE_URL"

if ! gzip -t "$file" 2>/dev/null; then
  echo "restore: $file is not a sound gzip archive; nothing was changed" >&2
  exit 1
fi
if [ -f "$file.sha256" ]; then
  if ! (cd "$(dirname "$file")" && sha256sum --quiet -c "$(basename "$file").sha256"); then
    echo "restore: $file does not match $file.sha256; nothing was changed" >&2
    exit 1
  fi
fi

if [ "$confirm" != "yes" ]; then
  read -r -p "Replace the tables of database '$DB_NAME' on $DB_HOST:$DB_PORT with $file? [y/N] " answer
  case "$answer" in y | Y | yes) ;; *)
    echo "restore: cancelled" >&2
    exit 1
    ;;
  esac
fi

client="$(find_tool mysql mariadb)"
options="$(client_options_file)"
trap 'rm -f "$options"' EXIT
gunzip -c "$file" | "$client" --defaults-extra-file="$options" --default-character-set=utf8mb4 "$DB_NAME"
echo "restore: $file restored into $DB_NAME on $DB_HOST:$DB_PORT" >&2
