#!/bin/bash
# Entrypoint of the clickhouse stand-in (Debian's clickhouse-server 18.16), following the upstream
# image's contract:
#   CLICKHOUSE_USER (default "default"), CLICKHOUSE_PASSWORD (default empty), CLICKHOUSE_DB (created
#   at every start if missing), CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT (ignored: 18.16 has no SQL
#   user management), /docker-entrypoint-initdb.d/*.sql|*.sh run once on a fresh data directory.
#   Ports 8123 (HTTP) and 9000 (native); data in /var/lib/clickhouse; runs as user clickhouse.
# The server config is assembled in $CLICKHOUSE_CONFIG_DIR (default /tmp/clickhouse-server) so the
# image also works with a read-only root filesystem (tmpfs /tmp).
set -euo pipefail
log() { echo "[clickhouse-standin] $*" >&2; }

case "${1:-clickhouse-server}" in
  clickhouse-server|clickhouse|-*) ;;
  *) exec "$@" ;;
esac
[[ "${1:-}" == clickhouse-server || "${1:-}" == clickhouse ]] && shift || true
[[ $# -gt 0 ]] && log "ignoring server arguments: $*"

CH_USER="${CLICKHOUSE_USER:-default}"
CH_PASSWORD="${CLICKHOUSE_PASSWORD:-}"
CH_DB="${CLICKHOUSE_DB:-}"
[[ -n "${CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT:-}" ]] && \
  log "CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=$CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT ignored (ClickHouse 18.16 has no SQL access management)"

CONF="${CLICKHOUSE_CONFIG_DIR:-/tmp/clickhouse-server}"
rm -rf "$CONF"; mkdir -p "$CONF"; chmod 700 "$CONF"
cp -a /etc/clickhouse-server/. "$CONF/"
mkdir -p "$CONF/users.d" "$CONF/config.d"

xml_escape() { local s="$1"; s="${s//&/&amp;}"; s="${s//</&lt;}"; s="${s//>/&gt;}"; s="${s//\"/&quot;}"; printf '%s' "$s"; }
pw_sha="$(printf '%s' "$CH_PASSWORD" | sha256sum | cut -d' ' -f1)"
user_xml="        <$CH_USER>
            <password_sha256_hex>$pw_sha</password_sha256_hex>
            <networks replace=\"replace\"><ip>::/0</ip><ip>0.0.0.0/0</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </$CH_USER>"
[[ "$CH_USER" =~ ^[A-Za-z_][A-Za-z0-9_.-]*$ ]] || { log "CLICKHOUSE_USER '$CH_USER' is not a valid user name"; exit 2; }
if [[ "$CH_USER" == default ]]; then
  # the password element of users.xml is replaced by the hash
  cat > "$CONF/users.d/topo-default-user.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <users>
        <default replace="replace">
            <password_sha256_hex>$pw_sha</password_sha256_hex>
            <networks replace="replace"><ip>::/0</ip><ip>0.0.0.0/0</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
</yandex>
XML
else
  # like upstream: the named user replaces "default", which is removed
  cat > "$CONF/users.d/topo-default-user.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <users>
        <default remove="remove"/>
$user_xml
    </users>
</yandex>
XML
fi
chmod 600 "$CONF/users.d/topo-default-user.xml"

DATA=/var/lib/clickhouse
first_start=0
[[ -d "$DATA/metadata" ]] || first_start=1
mkdir -p "$DATA/tmp" "$DATA/user_files" "$DATA/format_schemas"

ch_query() {   # ch_query SQL  — via HTTP on loopback with the configured credentials
  curl -fsS --max-time 60 -u "$CH_USER:$CH_PASSWORD" --data-binary "$1" "http://127.0.0.1:8123/"
}

# Debian's config.xml has its listen_host lines commented out (default: ::1 and 127.0.0.1 only).
write_config() {
  sed "0,/<yandex>/s##<yandex>\\n    <listen_host>$1</listen_host>\\n    <listen_try>1</listen_try>#" \
    /etc/clickhouse-server/config.xml > "$CONF/config.xml"
}

need_init=0
if [[ -n "$CH_DB" && ! -f "$DATA/metadata/$CH_DB.sql" ]]; then need_init=1; fi
if [[ $first_start == 1 ]] && ls /docker-entrypoint-initdb.d/* >/dev/null 2>&1; then need_init=1; fi

if [[ $need_init == 1 ]]; then
  # temporary server on loopback only, as the upstream entrypoint does
  write_config 127.0.0.1
  clickhouse-server --config-file="$CONF/config.xml" &
  pid=$!
  for _ in $(seq 1 120); do
    curl -fsS --max-time 2 http://127.0.0.1:8123/ping >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { log "clickhouse-server exited during init"; exit 1; }
    sleep 0.25
  done
  if [[ -n "$CH_DB" ]]; then
    log "creating database $CH_DB"
    ch_query "CREATE DATABASE IF NOT EXISTS \`$CH_DB\`" >/dev/null
  fi
  if [[ $first_start == 1 ]]; then
    for f in /docker-entrypoint-initdb.d/*; do
      [[ -e "$f" ]] || continue
      case "$f" in
        *.sh) log "running $f"; . "$f" ;;
        *.sql) log "running $f"
               clickhouse-client --host 127.0.0.1 --user "$CH_USER" --password "$CH_PASSWORD" \
                 ${CH_DB:+--database "$CH_DB"} --multiquery < "$f" ;;
        *) log "ignoring $f" ;;
      esac
    done
  fi
  kill -TERM "$pid"; wait "$pid" || true
fi
write_config 0.0.0.0

log "ClickHouse $(dpkg-query -W -f '${Version}' clickhouse-server 2>/dev/null) stand-in: user $CH_USER${CH_DB:+, database $CH_DB}, HTTP 8123, native 9000"
exec clickhouse-server --config-file="$CONF/config.xml"
