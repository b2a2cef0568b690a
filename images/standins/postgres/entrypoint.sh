#!/bin/bash
# Entrypoint of the postgres stand-in (Debian's PostgreSQL 15), after the official image's:
#   POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#   POSTGRES_USER[_FILE] (default postgres), POSTGRES_DB[_FILE] (default = user),
#   POSTGRES_INITDB_ARGS[_FILE], POSTGRES_HOST_AUTH_METHOD (default scram-sha-256),
#   PGDATA (default /var/lib/postgresql/data); on an empty PGDATA: initdb, create the database,
#   run /docker-entrypoint-initdb.d/*.sql, *.sql.gz, *.sh; then `postgres` listens on 0.0.0.0:5432
#   (host connections need scram-sha-256 passwords; local socket connections are trusted).
#   `postgres -c name=value ...` and bare `-c ...` flags are passed through, as upstream.
set -euo pipefail
log() { echo "[postgres-standin] $*" >&2; }

if [[ "${1:-postgres}" == -* ]]; then set -- postgres "$@"; fi
[[ $# -gt 0 ]] || set -- postgres
if [[ "$1" != postgres ]]; then exec "$@"; fi

file_env() {   # file_env VAR [DEFAULT] — VAR or VAR_FILE, as in the official entrypoint
  local var="$1" def="${2:-}" fvar="${1}_FILE"
  if [[ -n "${!var:-}" && -n "${!fvar:-}" ]]; then log "both $var and $fvar are set"; exit 1; fi
  local val="$def"
  if [[ -n "${!var:-}" ]]; then val="${!var}"
  elif [[ -n "${!fvar:-}" ]]; then val="$(< "${!fvar}")"; fi
  export "$var"="$val"; unset "$fvar"
}

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
AUTH="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

mkdir -p "$PGDATA" 2>/dev/null || true
chmod 700 "$PGDATA" 2>/dev/null || true

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  if [[ -z "$POSTGRES_PASSWORD" && "$AUTH" != trust ]]; then
    cat >&2 <<'MSG'
[postgres-standin] Error: Database is uninitialized and superuser password is not specified.
       You must specify POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value for the
       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".
       (POSTGRES_HOST_AUTH_METHOD=trust allows all connections without a password: NOT recommended.)
MSG
    exit 1
  fi
  log "initdb in $PGDATA (user $POSTGRES_USER, PostgreSQL $(postgres --version | awk '{print $3}'))"
  pwfile="$(mktemp)"; printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  # shellcheck disable=SC2086
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host="$AUTH" \
    --encoding=UTF8 --locale=C.UTF-8 $POSTGRES_INITDB_ARGS -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  {
    echo
    echo "# added by the postgres stand-in entrypoint (as the official image does)"
    echo "host all all all $AUTH"
  } >> "$PGDATA/pg_hba.conf"
  echo "password_encryption = scram-sha-256" >> "$PGDATA/postgresql.auto.conf"

  # temporary server on the unix socket only
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/var/run/postgresql" -w start >/dev/null
  export PGUSER="$POSTGRES_USER" PGHOST=/var/run/postgresql
  psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres -q)
  if [[ "$POSTGRES_DB" != postgres ]]; then
    log "creating database $POSTGRES_DB"
    "${psql[@]}" --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  psql+=(--dbname "$POSTGRES_DB")
  for f in /docker-entrypoint-initdb.d/*; do
    [[ -e "$f" ]] || continue
    case "$f" in
      *.sh) if [[ -x "$f" ]]; then log "running $f"; "$f"; else log "sourcing $f"; . "$f"; fi ;;
      *.sql) log "running $f"; "${psql[@]}" -f "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${psql[@]}" ;;
      *.sql.xz) log "running $f"; xzcat "$f" | "${psql[@]}" ;;
      *) log "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  unset PGUSER PGHOST
  log "init complete"
else
  log "PostgreSQL data directory $PGDATA already initialised; skipping init"
fi

shift
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql "$@"
