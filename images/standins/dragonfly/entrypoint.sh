#!/bin/bash
# Entrypoint of the dragonfly STAND-IN: redis-server behind Dragonfly's command line, as strict as Dragonfly
# on what the rendering relies on (sources: dragonflydb/dragonfly v1.40.1, read 2026-11-27):
#   - flags are parsed like absl flags: `--flag=value`, `--flag value`, `--bool`, `--nobool`; an UNKNOWN flag
#     exits 1 ("Unknown command line flag", absl/flags/parse.cc kAbortIfUndefined via helio base/init.cc);
#     flags this stand-in does not know are refused too (say so; it is stricter, never more lenient);
#   - proactor threads: --proactor_threads, else the cgroup CPU quota (ceil(quota/period)), else the CPUs this
#     process may run on (dfly_main.cc; helio proactor_pool.cc NumOnlineCpus: sched_getaffinity);
#   - --maxmemory (binary units, case-insensitive: 256mb = 256 MiB; helio strings/human_readable.cc); unset or 0:
#     0.8 x the available memory, capped by the cgroup's memory.max / memory.high (dfly_main.cc);
#   - the memory floor: maxmemory < threads x 256 MiB logs "There are N threads, so X are required. Exiting..."
#     and exits 1 (dfly_main.cc RunEngine);
#   - DFLY_<flag> environment variables set flags; an unknown DFLY_ variable is fatal (dfly_main.cc).
# Then redis-server runs with --port/--bind/--requirepass/--maxmemory (+ allkeys-lru for --cache_mode).
set -euo pipefail
log() { echo "[dragonfly-standin] $*" >&2; }
fatal() { log "$*"; exit 1; }

case "${1:-dragonfly}" in
  dragonfly) shift || true ;;
  -*) ;;
  *) exec "$@" ;;
esac

port=6379 bind=0.0.0.0 pass="" maxmem_flag="" cache=false dir=/data dbfile="dump" threads_flag=0
value_flags=" port bind requirepass maxmemory dir dbfilename proactor_threads snapshot_cron hz maxclients
  keys_output_limit admin_port admin_bind memcached_port num_shards v vmodule logbuflevel minloglevel
  stderrthreshold log_dir mem_defrag_threshold default_lua_flags cluster_mode interpreter_per_thread "
bool_flags=" logtostderr alsologtostderr cache_mode version_check force_epoll primary_port_http_enabled
  admin_nopass conn_use_incoming_cpu lock_on_hashtags df_snapshot_format "

set_flag() {  # name value
  case "$1" in
    port) port="$2" ;;
    bind) bind="${2//,/ }" ;;
    requirepass) pass="$2" ;;
    maxmemory) maxmem_flag="$2" ;;
    cache_mode) [[ "$2" == true || "$2" == 1 ]] && cache=true || cache=false ;;
    dir) dir="$2" ;;
    dbfilename) dbfile="$2" ;;
    proactor_threads) [[ "$2" =~ ^[0-9]+$ ]] || fatal "Illegal value '$2' specified for flag 'proactor_threads'"
                      threads_flag="$2" ;;
    *) ;;
  esac
}

# environment first, flags override (absl's order in dfly_main.cc)
while IFS='=' read -r name value; do
  flag="${name#DFLY_}"
  if [[ $value_flags == *" $flag "* || $bool_flags == *" $flag "* ]]; then set_flag "$flag" "$value"
  else fatal "unknown environment variable $name"; fi
done < <(env | grep '^DFLY_' || true)

while [[ $# -gt 0 ]]; do
  arg="$1"; shift
  [[ "$arg" == -* ]] || fatal "ERROR: positional argument '$arg' is not accepted"
  body="${arg#-}"; body="${body#-}"
  name="${body%%=*}"; has=0; val=""
  [[ "$body" == *=* ]] && { val="${body#*=}"; has=1; }
  if [[ $value_flags == *" $name "* ]]; then
    if [[ $has == 0 ]]; then
      [[ $# -gt 0 ]] || fatal "ERROR: Missing the value for flag '$name'"
      val="$1"; shift
    fi
  elif [[ $bool_flags == *" $name "* ]]; then
    [[ $has == 1 ]] || val=true
    case "${val,,}" in true|1|yes|t|y) val=true ;; false|0|no|f|n) val=false ;;
      *) fatal "ERROR: Illegal value '$val' specified for flag '$name'" ;; esac
  elif [[ $has == 0 && "$name" == no* && $bool_flags == *" ${name#no} "* ]]; then
    name="${name#no}"; val=false
  else
    fatal "ERROR: Unknown command line flag '$name' (Dragonfly exits here too; or a flag this stand-in does not know)"
  fi
  set_flag "$name" "$val"
done

to_bytes() {  # Dragonfly's human-readable sizes: binary units, case-insensitive (256mb, 1G, 1gb, 536870912)
  local v="${1,,}" n u
  n="${v%%[a-z]*}"; u="${v#"$n"}"; u="${u%b}"; u="${u%i}"
  [[ "$n" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo ""; return; }
  case "$u" in
    "") awk -v n="$n" 'BEGIN{printf "%d", n}' ;;
    k) awk -v n="$n" 'BEGIN{printf "%d", n*1024}' ;;
    m) awk -v n="$n" 'BEGIN{printf "%d", n*1024*1024}' ;;
    g) awk -v n="$n" 'BEGIN{printf "%d", n*1024*1024*1024}' ;;
    t) awk -v n="$n" 'BEGIN{printf "%d", n*1024*1024*1024*1024}' ;;
    *) echo "" ;;
  esac
}
mib() { echo "$(( $1 >> 20 ))MiB"; }

# threads
threads="$threads_flag"
if [[ "$threads" == 0 ]]; then
  if [[ -r /sys/fs/cgroup/cpu.max ]] && read -r quota period < /sys/fs/cgroup/cpu.max && [[ "$quota" != max ]]; then
    threads=$(( (quota + period - 1) / period ))
  elif [[ -r /sys/fs/cgroup/cpu/cpu.cfs_quota_us ]] && q="$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us)" && (( q > 0 )); then
    p="$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"; threads=$(( (q + p - 1) / p ))
  else
    threads="$(nproc)"
  fi
fi

# maxmemory
if [[ -n "$maxmem_flag" ]]; then
  maxmem="$(to_bytes "$maxmem_flag")"
  [[ -n "$maxmem" ]] || fatal "ERROR: Illegal value '$maxmem_flag' specified for flag 'maxmemory'"
else
  maxmem=0
fi
if [[ "$maxmem" == 0 ]]; then
  avail=$(( $(awk '/^MemAvailable:/ {print $2}' /proc/meminfo) * 1024 ))
  for f in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.high /sys/fs/cgroup/memory/memory.limit_in_bytes; do
    [[ -r $f ]] || continue
    v="$(cat "$f")"; [[ "$v" =~ ^[0-9]+$ ]] && (( v < avail )) && avail=$v
  done
  maxmem=$(( avail * 8 / 10 ))
  log "maxmemory has not been specified. Deciding myself.... $(mib "$maxmem")"
  (( maxmem > 0 )) || fatal "Could not deduce how much memory available for Dragonfly. Exiting..."
fi
need=$(( threads * 256 * 1024 * 1024 ))
if (( maxmem < need )); then
  fatal "There are $threads threads, so $(mib "$need") are required. Exiting... (maxmemory $(mib "$maxmem"); pass --proactor_threads and a --maxmemory of at least 256MiB per thread, and a container limit that fits it)"
fi

args=(--port "$port" --bind $bind --protected-mode no --dir "$dir" --appendonly no --loglevel warning --logfile ""
      --maxmemory "$maxmem")
if [[ -n "$dbfile" ]]; then args+=(--dbfilename "$dbfile.rdb" --save "")   # Dragonfly saves on shutdown only
else args+=(--save ""); fi
[[ -n "$pass" ]] && args+=(--requirepass "$pass")
[[ $cache == true ]] && args+=(--maxmemory-policy allkeys-lru)
log "STAND-IN: redis-server $(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-) as Dragonfly: port $port, bind $bind, $threads thread(s), maxmemory $(mib "$maxmem"), cache_mode $cache, auth $([[ -n "$pass" ]] && echo on || echo off)"
exec redis-server "${args[@]}"
