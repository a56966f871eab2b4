#!/usr/bin/env bash
# Consistent, compressed, timestamped logical backup of the service's MySQL/MariaDB database.
#
#   DATABASE_URL=mysql://user:pass@host:3306/historical scripts/backup.sh [output-dir]
#
# Writes <output-dir>/historical-data_<database>_<UTC timestamp>.sql.gz (default dir: ./backups or
# BACKUP_DIR) and a .sha256 beside it; prints the path of the dump on stdout. The dump is taken in
# one transaction (--single-transaction, InnoDB), so writes during the backup are neither blocked
# nor half-included; it holds every table including the migrations record, so a restore brings
# back the schema version with the data. Nothing is left at the final path unless the dump and
# its compression both succeeded and the archive tests sound.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/mysql-url.sh
. "$here/mysql-url.sh"

: "${DATABASE_URL:?DATABASE_URL must be set (mysql://user:pass@host:3306/database)}"
parse_database_url "$DATABASE_URL"
out_dir="${1:-${BACKUP_DIR:-./backups}}"
mkdir -p "$out_dir"

dump="$(find_tool mysqldump mariadb-dump)"
options="$(client_options_file)"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
target="$out_dir/historical-data_${DB_NAME}_${stamp}.sql.gz"
partial="$target.partial"
trap 'rm -f "$options" "$partial"' EXIT

# --no-tablespaces: MySQL 8 wants the PROCESS privilege for tablespace info otherwise.
"$dump" --defaults-extra-file="$options" \
  --single-transaction --quick --skip-lock-tables --no-tablespaces \
  --hex-blob \
  --default-character-set=utf8mb4 \
  "$DB_NAME" | gzip -6 >"$partial"
gzip -t "$partial"
mv "$partial" "$target"
(cd "$out_dir" && sha256sum "$(basename "$target")" >"$(basename "$target").sha256")
echo "backup: $(du -h "$target" | cut -f1) written to $target" >&2
echo "$target"
