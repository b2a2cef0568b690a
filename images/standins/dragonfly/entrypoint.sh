#!/bin/bash
# Entrypoint of the dragonfly stand-in: runs redis-server with Dragonfly's command line.
#   dragonfly [--flag[=value] | --flag value]...   (also accepted without the leading "dragonfly")
# Mapped: --port (6379), --bind (0.0.0.0), --requirepass, --maxmemory, --cache_mode=true
# (maxmemory-policy allkeys-lru), --dir (/data), --dbfilename (empty or absent: no persistence;
# a name: RDB snapshots in --dir). Everything else (--logtostderr, --proactor_threads, ...) is ignored.
# Env DFLY_requirepass / DFLY_PASSWORD are honoured like --requirepass.
set -euo pipefail
log() { echo "[dragonfly-standin] $*" >&2; }

case "${1:-dragonfly}" in
  dragonfly) shift || true ;;
  -*) ;;
  *) exec "$@" ;;
esac

port=6379 bind=0.0.0.0 pass="${DFLY_requirepass:-${DFLY_PASSWORD:-}}" maxmem="" cache=false dir=/data dbfile=""
bools=" --logtostderr --alsologtostderr --cache_mode --version_check --force_epoll --nodf_snapshot_format --primary_port_http_enabled --admin_nopass "
while [[ $# -gt 0 ]]; do
  arg="$1"; shift
  flag="${arg%%=*}"; flag="--${flag#--}"; flag="${flag//-/_}"; flag="--${flag#__}"
  val="" has=0
  if [[ "$arg" == *=* ]]; then val="${arg#*=}"; has=1
  elif [[ $bools != *" $arg "* && $# -gt 0 && "$1" != -* ]]; then val="$1"; shift; has=1; fi
  case "$flag" in
    --port) port="$val" ;;
    --bind) bind="${val//,/ }" ;;
    --requirepass) pass="$val" ;;
    --maxmemory) maxmem="$val" ;;
    --cache_mode) [[ $has == 0 || "$val" == true || "$val" == 1 ]] && cache=true || cache=false ;;
    --dir) dir="$val" ;;
    --dbfilename) dbfile="$val" ;;
    *) log "ignoring $arg" ;;
  esac
done

args=(--port "$port" --bind $bind --protected-mode no --dir "$dir" --appendonly no --loglevel warning --logfile "")
if [[ -n "$dbfile" ]]; then args+=(--dbfilename "$dbfile" --save "3600 1 300 100 60 10000")
else args+=(--save ""); fi
[[ -n "$pass" ]] && args+=(--requirepass "$pass")
[[ -n "$maxmem" ]] && args+=(--maxmemory "$maxmem")
[[ $cache == true ]] && args+=(--maxmemory-policy allkeys-lru)
log "redis-server $(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-) as Dragonfly: port $port, bind $bind, cache_mode $cache, auth $([[ -n "$pass" ]] && echo on || echo off), persistence $([[ -n "$dbfile" ]] && echo "$dir/$dbfile" || echo off)"
exec redis-server "${args[@]}"
