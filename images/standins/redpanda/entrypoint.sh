#!/bin/bash
# Entrypoint of the redpanda stand-in: Apache Kafka (KRaft, single node, SASL/SCRAM only) behind
# Redpanda's container contract.
#
#   redpanda start [--kafka-addr [name://]host:port[,...]] [--advertise-kafka-addr ...]
#                  [--default-log-level LEVEL] [--set redpanda.superusers=["a","b"]] --memory SIZE ...
#                  (rpk's grammar: `--set KEY=VALUE` is two arguments; a one-token `--set=...` exits 1)
#   rpk ...            -> rpk-standin (a small subset of rpk, see rpk-standin --help)
#   anything else      -> exec'd as is
#
# Env: RP_BOOTSTRAP_USER=user:password[:SCRAM-SHA-256|SCRAM-SHA-512] creates that SCRAM user when
# the data directory is formatted (first start) only; it is NOT a superuser unless listed in superusers.
# Data: /var/lib/redpanda/data (kafka/ = log.dirs with the KRaft metadata, topo/ = stand-in state).
# Ports: with --set redpanda.enable_sasl=true every --kafka-addr listener speaks SASL_PLAINTEXT
# (SCRAM-SHA-256/512) and authorization denies what no ACL allows; without it, PLAINTEXT. 9644 is the
# admin API subset (GET /v1/status/ready ...). Internal, loopback-only: 127.0.0.1:33145 KRaft
# controller, 127.0.0.1:33146 SASL inter-broker listener.
set -euo pipefail

log() { echo "[redpanda-standin] $*" >&2; }

DATA=/var/lib/redpanda/data
KDATA="$DATA/kafka"
STATE="$DATA/topo"
CONF_DIR="${TOPO_CONF_DIR:-/tmp/redpanda-standin}"
CONTROLLER_ADDR=127.0.0.1:33145
REPLICATION_ADDR=127.0.0.1:33146
ADMIN_PORT=9644
BROKER_USER=topo-broker

if [[ $# -eq 0 ]]; then set -- redpanda start; fi
case "$1" in
  redpanda) shift; [[ "${1:-}" == start ]] && shift ;;
  rpk) shift; exec /usr/local/bin/rpk-standin "$@" ;;
  -*) ;;                                   # bare flags: treat as `redpanda start FLAGS`
  *) exec "$@" ;;
esac

kafka_addr="0.0.0.0:9092" advertise_addr="" log_level="WARN" superusers=() auto_create="true"
sasl=false mode="" memory="" smp=""
# rpk's grammar (rpk `redpanda start`, src/go/rpk/pkg/cli/redpanda/start.go): `--set` is NOT a registered flag;
# rpk scans the arguments for the exact token `--set` and takes the NEXT argument as KEY=VALUE. A one-token
# `--set=KEY=VALUE` is passed through to the redpanda binary, whose strict option parser (cli_parser.cc) logs
# "Argument parse error" and exits 1. Registered rpk flags take `--flag VALUE` or `--flag=VALUE`; anything else
# goes to the redpanda binary, which knows only its own options (a few listed here) and exits on the rest.
rpk_value=" --kafka-addr --advertise-kafka-addr --pandaproxy-addr --advertise-pandaproxy-addr --schema-registry-addr --rpc-addr --advertise-rpc-addr --seeds --mode --config --node-id --smp --memory --reserve-memory --install-dir --timeout --well-known-io "
rpk_bool=" --overprovisioned --check --unsafe-bypass-fsync --lock-memory "
binary_opts=" --default-log-level --logger-log-level "
parse_error() {
  log "redpanda: Argument parse error: $1"
  log "(this is what the real image does: rpk hands the token to the redpanda binary, which exits 1)"
  exit 1
}
while [[ $# -gt 0 ]]; do
  arg="$1"; shift
  if [[ "$arg" == --set ]]; then
    [[ $# -gt 0 && "$1" == *=* ]] || parse_error "--set needs KEY=VALUE as the next argument"
    val="$1"; shift
    key="${val%%=*}"; v="${val#*=}"
    case "$key" in
      redpanda.superusers|superusers)
        v="${v#[}"; v="${v%]}"; IFS=',' read -r -a su <<<"$v"
        for s in "${su[@]}"; do s="${s//\"/}"; s="${s// /}"; [[ -n "$s" ]] && superusers+=("$s"); done ;;
      redpanda.auto_create_topics_enabled|auto_create_topics_enabled) auto_create="$v" ;;
      redpanda.enable_sasl|enable_sasl) [[ "$v" == true ]] && sasl=true || sasl=false ;;
      *) log "ignoring --set $val (no Kafka equivalent in the stand-in)" ;;
    esac
    continue
  fi
  [[ "$arg" == --set=* ]] && parse_error "unrecognised option '$arg' — write --set KEY=VALUE as two arguments"
  flag="${arg%%=*}"; val=""; has_val=0
  if [[ "$arg" == *=* ]]; then val="${arg#*=}"; has_val=1; fi
  if [[ $rpk_value == *" $flag "* || $binary_opts == *" $flag "* ]]; then
    if [[ $has_val == 0 ]]; then
      [[ $# -gt 0 ]] || parse_error "option '$flag' needs a value"
      val="$1"; shift
    fi
  elif [[ $rpk_bool == *" $flag "* ]]; then
    [[ $has_val == 1 ]] || val=true
  else
    parse_error "unrecognised option '$arg'"
  fi
  case "$flag" in
    --kafka-addr) kafka_addr="$val" ;;
    --advertise-kafka-addr) advertise_addr="$val" ;;
    --mode) mode="$val"; [[ "$val" == dev-container ]] || parse_error "unknown --mode '$val' (the stand-in knows dev-container)" ;;
    --memory) memory="$val" ;;
    --smp) smp="$val" ;;
    --default-log-level)
      case "${val,,}" in trace) log_level=TRACE ;; debug) log_level=DEBUG ;; info) log_level=INFO ;;
        warn|warning) log_level=WARN ;; error) log_level=ERROR ;; *) parse_error "bad log level '$val'" ;; esac ;;
    *) log "accepted $flag${val:+ $val} (no effect in the stand-in)" ;;
  esac
done

# Memory: `--mode dev-container` sets --reserve-memory 0M and no --memory (start.go setContainerModeFlags), so
# the real broker claims all the memory it sees. The stand-in refuses to guess: it needs --memory, and, like
# Seastar, refuses more than the container has.
to_bytes() {  # 1G, 1536M, 2Gi, 512MiB -> bytes
  local v="${1^^}" n u
  n="${v%%[A-Z]*}"; u="${v#"$n"}"; u="${u%IB}"; u="${u%B}"
  [[ "$n" =~ ^[0-9]+$ ]] || { echo ""; return; }
  case "$u" in "") echo "$n" ;; K) echo $((n << 10)) ;; M) echo $((n << 20)) ;; G) echo $((n << 30)) ;; T) echo $((n << 40)) ;; *) echo "" ;; esac
}
if [[ -z "$memory" ]]; then
  log "no --memory given: the real image (--mode ${mode:-production}, --reserve-memory 0M in dev-container mode) would"
  log "claim all the memory it sees and compete with everything else in the task; pass --memory (e.g. --memory 1G)"
  exit 1
fi
mem_bytes="$(to_bytes "$memory")"
[[ -n "$mem_bytes" ]] || parse_error "--memory '$memory' is not a size (e.g. 1G)"
limit=""
for f in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do
  [[ -r $f ]] && { limit="$(cat "$f")"; break; }
done
if [[ "$limit" =~ ^[0-9]+$ ]] && (( limit < 1 << 50 )) && (( mem_bytes > limit )); then
  log "--memory $memory is more than the container's memory limit ($((limit >> 20)) MiB): Seastar refuses to start"
  exit 1
fi
heap_mb=$(( (mem_bytes >> 20) * 3 / 4 ))
(( heap_mb >= 256 )) || { log "--memory $memory is below what the stand-in's JVM needs (342M)"; exit 1; }
KAFKA_HEAP_OPTS="-Xms256m -Xmx${heap_mb}m"

# ---- listeners -------------------------------------------------------------------------------
declare -A adv_by_name=()
adv_unnamed=()
IFS=',' read -r -a advs <<<"$advertise_addr"
for a in "${advs[@]}"; do
  [[ -z "$a" ]] && continue
  if [[ "$a" == *://* ]]; then n="${a%%://*}"; adv_by_name[${n^^}]="${a#*://}"; else adv_unnamed+=("$a"); fi
done
listeners=() advertised=() names=() i=0
IFS=',' read -r -a addrs <<<"$kafka_addr"
for a in "${addrs[@]}"; do
  [[ -z "$a" ]] && continue
  if [[ "$a" == *://* ]]; then n="${a%%://*}"; hp="${a#*://}"; else n="kafka"; if [[ $i -gt 0 ]]; then n="kafka_$i"; fi; hp="$a"; fi
  n="${n^^}"; n="${n//[^A-Z0-9_]/_}"
  [[ "$n" == CONTROLLER || "$n" == REPLICATION ]] && n="${n}_CLIENT"
  if [[ -n "${adv_by_name[$n]:-}" ]]; then ad="${adv_by_name[$n]}"
  elif [[ $i -lt ${#adv_unnamed[@]} ]]; then ad="${adv_unnamed[$i]}"
  else
    h="${hp%:*}"; [[ -z "$h" || "$h" == 0.0.0.0 || "$h" == "::" ]] && h="$(hostname)"
    ad="$h:${hp##*:}"
  fi
  names+=("$n"); listeners+=("$n://$hp"); advertised+=("$n://$ad"); i=$((i + 1))
done
[[ ${#names[@]} -gt 0 ]] || { log "no usable --kafka-addr"; exit 2; }

# ---- state: broker credentials, superusers, bootstrap user ------------------------------------
mkdir -p "$KDATA" "$STATE" "$CONF_DIR"
chmod 700 "$STATE" "$CONF_DIR"
if [[ ! -s "$STATE/broker.password" ]]; then
  python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$STATE/broker.password"
  chmod 600 "$STATE/broker.password"
fi
broker_pw="$(cat "$STATE/broker.password")"

boot_user="" boot_pw="" boot_mech="SCRAM-SHA-256"
if [[ -n "${RP_BOOTSTRAP_USER:-}" ]]; then
  rest="$RP_BOOTSTRAP_USER"
  case "$rest" in
    *:SCRAM-SHA-256) rest="${rest%:SCRAM-SHA-256}" ;;
    *:SCRAM-SHA-512) rest="${rest%:SCRAM-SHA-512}"; boot_mech=SCRAM-SHA-512 ;;
  esac
  boot_user="${rest%%:*}"; boot_pw="${rest#*:}"
  if [[ -z "$boot_user" || "$boot_pw" == "$rest" ]]; then
    log "RP_BOOTSTRAP_USER must be user:password[:SCRAM-SHA-256]; ignoring it"; boot_user=""
  fi
fi
# RP_BOOTSTRAP_USER only creates a SCRAM user, read once when the cluster is founded; superusers come from the
# `superusers` property alone (security_frontend.cc, controller.cc cluster_creation_hook; Redpanda's docs).
super="User:$BROKER_USER"
while read -r s; do [[ -n "$s" ]] && super="$super;User:$s"; done < <(printf '%s\n' "${superusers[@]+"${superusers[@]}"}" | sort -u)
proto=PLAINTEXT; [[ $sasl == true ]] && proto=SASL_PLAINTEXT

# ---- server.properties (regenerated on every start) -------------------------------------------
jaas_server='org.apache.kafka.common.security.scram.ScramLoginModule required;'
jaas_broker="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$BROKER_USER\" password=\"$broker_pw\";"
props="$CONF_DIR/server.properties"
{
  echo "# generated by the redpanda stand-in entrypoint"
  echo "process.roles=broker,controller"
  echo "node.id=1"
  echo "controller.quorum.voters=1@$CONTROLLER_ADDR"
  echo "controller.listener.names=CONTROLLER"
  echo "listeners=CONTROLLER://$CONTROLLER_ADDR,REPLICATION://$REPLICATION_ADDR,$(IFS=,; echo "${listeners[*]}")"
  echo "advertised.listeners=REPLICATION://$REPLICATION_ADDR,$(IFS=,; echo "${advertised[*]}")"
  pm="CONTROLLER:PLAINTEXT,REPLICATION:SASL_PLAINTEXT"
  for n in "${names[@]}"; do pm="$pm,$n:$proto"; done
  echo "listener.security.protocol.map=$pm"
  echo "inter.broker.listener.name=REPLICATION"
  echo "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512"
  echo "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256"
  jaas_names=(REPLICATION); [[ $sasl == true ]] && jaas_names+=("${names[@]}")
  for n in "${jaas_names[@]}"; do
    ln="${n,,}"
    for m in scram-sha-256 scram-sha-512; do
      if [[ $n == REPLICATION ]]; then echo "listener.name.$ln.$m.sasl.jaas.config=$jaas_broker"
      else echo "listener.name.$ln.$m.sasl.jaas.config=$jaas_server"; fi
    done
  done
  # Redpanda authorizes when SASL is on, and an empty ACL match is ALWAYS denied for non-superusers
  # (security/authorizer.cc: empty_match_result; kafka/server/server.cc): Kafka's default
  # allow.everyone.if.no.acl.found=false is that rule.
  if [[ $sasl == true ]]; then
    echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    echo "allow.everyone.if.no.acl.found=false"
    # the KRaft controller listener is PLAINTEXT on loopback only: its (anonymous) principal must be a superuser
    # for the broker to register; client listeners are SASL-only, so no client is ever ANONYMOUS there
    echo "super.users=$super;User:ANONYMOUS"
  fi
  echo "log.dirs=$KDATA"
  echo "num.partitions=1"
  echo "default.replication.factor=1"
  echo "min.insync.replicas=1"
  echo "offsets.topic.replication.factor=1"
  echo "transaction.state.log.replication.factor=1"
  echo "transaction.state.log.min.isr=1"
  echo "share.coordinator.state.topic.replication.factor=1"
  echo "share.coordinator.state.topic.min.isr=1"
  echo "group.initial.rebalance.delay.ms=0"
  # after an unclean stop the new broker incarnation waits for the old session to expire (default 9 s)
  echo "broker.heartbeat.interval.ms=1000"
  echo "broker.session.timeout.ms=4000"
  echo "auto.create.topics.enable=$auto_create"
  echo "log.retention.hours=168"
} > "$props"
chmod 600 "$props"

# Client settings for the tools inside the container (rpk-standin, kafka-*.sh --command-config).
umask 077
cat > "$STATE/client.properties" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-256
sasl.jaas.config=$jaas_broker
EOF
umask 022

# ---- format on first start ---------------------------------------------------------------------
export KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=/opt/kafka/log4j2.properties -Dtopo.log.level=$log_level"
if [[ ! -f "$KDATA/meta.properties" ]]; then
  # A base64url id may begin with '-', which kafka-storage's argument parser then reads as an option
  # ("argument --cluster-id/-t: expected one argument": seen once in CI). Draw again until it does not,
  # as Kafka's own Uuid.randomUuid() does for the ids it prints.
  cluster_id="$(python3 -c '
import uuid, base64
while True:
    cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    if not cid.startswith("-"):
        print(cid)
        break
')"
  scram=(--add-scram "SCRAM-SHA-256=[name=$BROKER_USER,password=$broker_pw]")
  if [[ -n "$boot_user" ]]; then
    scram+=(--add-scram "$boot_mech=[name=$boot_user,password=$boot_pw]")
    echo "$boot_user" >> "$STATE/users"
  fi
  log "formatting $KDATA (cluster id $cluster_id, SCRAM users: $BROKER_USER${boot_user:+, $boot_user})"
  KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=/opt/kafka/log4j2.properties" \
    /opt/kafka/bin/kafka-run.sh kafka.tools.StorageTool format --cluster-id="$cluster_id" -c "$props" "${scram[@]}" >&2
else
  log "data directory already formatted; starting"
fi
touch "$STATE/users"

# ---- admin API (port 9644) and post-start tasks -------------------------------------------------
python3 /usr/local/lib/topo/admin_server.py --port "$ADMIN_PORT" --kafka "$REPLICATION_ADDR" &
# (no late creation of RP_BOOTSTRAP_USER: upstream reads it only when the cluster is founded)

log "Kafka $KAFKA_VERSION KRaft; listeners: ${listeners[*]}; advertised: ${advertised[*]}; SASL $([[ $sasl == true ]] && echo "SCRAM, authorization on (deny unless an ACL allows), superusers: $super" || echo "OFF: anonymous clients, no authorization — as upstream without enable_sasl")"
exec java ${KAFKA_HEAP_OPTS:--Xmx768m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
  $KAFKA_LOG4J_OPTS -cp '/opt/kafka/libs/*' kafka.Kafka "$props"
