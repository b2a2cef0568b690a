#!/bin/bash
# Entrypoint of the redpanda stand-in: Apache Kafka (KRaft, single node, SASL/SCRAM only) behind
# Redpanda's container contract.
#
#   redpanda start [--kafka-addr [name://]host:port[,...]] [--advertise-kafka-addr ...]
#                  [--default-log-level LEVEL] [--set redpanda.superusers=["a","b"]] [other flags]
#   rpk ...            -> rpk-standin (a small subset of rpk, see rpk-standin --help)
#   anything else      -> exec'd as is
#
# Env: RP_BOOTSTRAP_USER=user:password[:SCRAM-SHA-256|SCRAM-SHA-512] creates that SCRAM user when
# the data directory is formatted (first start) and makes it a superuser; if the user is new on a
# later start, it is created once the broker is up.
# Data: /var/lib/redpanda/data (kafka/ = log.dirs with the KRaft metadata, topo/ = stand-in state).
# Ports: every --kafka-addr listener speaks SASL_PLAINTEXT (SCRAM-SHA-256/512) only; 9644 is the
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
bool_flags=" --overprovisioned --unsafe-bypass-fsync --check --verbose -v --dev-container "
while [[ $# -gt 0 ]]; do
  arg="$1"; shift
  flag="${arg%%=*}"; val=""; has_val=0
  if [[ "$arg" == *=* ]]; then val="${arg#*=}"; has_val=1; fi
  if [[ $has_val == 0 && "$flag" == -* && $bool_flags != *" $flag "* && $# -gt 0 && "$1" != -* ]]; then
    val="$1"; shift; has_val=1
  fi
  case "$flag" in
    --kafka-addr) kafka_addr="$val" ;;
    --advertise-kafka-addr) advertise_addr="$val" ;;
    --default-log-level)
      case "${val,,}" in trace) log_level=TRACE ;; debug) log_level=DEBUG ;; info) log_level=INFO ;;
        warn|warning) log_level=WARN ;; error) log_level=ERROR ;; *) log_level=WARN ;; esac ;;
    --set)
      key="${val%%=*}"; v="${val#*=}"
      case "$key" in
        redpanda.superusers)
          v="${v#[}"; v="${v%]}"; IFS=',' read -r -a su <<<"$v"
          for s in "${su[@]}"; do s="${s//\"/}"; s="${s// /}"; [[ -n "$s" ]] && superusers+=("$s"); done ;;
        redpanda.auto_create_topics_enabled) auto_create="$v" ;;
        redpanda.enable_sasl) [[ "$v" == true ]] || log "ignoring --set $val: SASL is always on here" ;;
        *) log "ignoring --set $val (no Kafka equivalent in the stand-in)" ;;
      esac ;;
    *) if [[ $has_val == 1 ]]; then log "ignoring $flag $val"; else log "ignoring $flag"; fi ;;
  esac
done

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
  if [[ "$a" == *://* ]]; then n="${a%%://*}"; hp="${a#*://}"; else n="kafka$([[ $i -gt 0 ]] && echo "_$i")"; hp="$a"; fi
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
touch "$STATE/superusers"
if [[ -n "$boot_user" ]] && ! grep -qxF "$boot_user" "$STATE/superusers"; then echo "$boot_user" >> "$STATE/superusers"; fi
super="User:$BROKER_USER"
while read -r s; do [[ -n "$s" ]] && super="$super;User:$s"; done < <( { cat "$STATE/superusers"; printf '%s\n' "${superusers[@]+"${superusers[@]}"}"; } | sort -u)

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
  for n in "${names[@]}"; do pm="$pm,$n:SASL_PLAINTEXT"; done
  echo "listener.security.protocol.map=$pm"
  echo "inter.broker.listener.name=REPLICATION"
  echo "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512"
  echo "sasl.mechanism.inter.broker.protocol=SCRAM-SHA-256"
  for n in REPLICATION "${names[@]}"; do
    ln="${n,,}"
    for m in scram-sha-256 scram-sha-512; do
      if [[ $n == REPLICATION ]]; then echo "listener.name.$ln.$m.sasl.jaas.config=$jaas_broker"
      else echo "listener.name.$ln.$m.sasl.jaas.config=$jaas_server"; fi
    done
  done
  echo "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer"
  echo "allow.everyone.if.no.acl.found=true"
  echo "super.users=$super"
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
  cluster_id="$(python3 -c 'import uuid,base64; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
  scram=(--add-scram "SCRAM-SHA-256=[name=$BROKER_USER,password=$broker_pw]")
  if [[ -n "$boot_user" ]]; then
    scram+=(--add-scram "$boot_mech=[name=$boot_user,password=$boot_pw]")
    echo "$boot_user" >> "$STATE/users"
  fi
  log "formatting $KDATA (cluster id $cluster_id, SCRAM users: $BROKER_USER${boot_user:+, $boot_user})"
  KAFKA_LOG4J_OPTS="-Dlog4j2.configurationFile=/opt/kafka/log4j2.properties" \
    /opt/kafka/bin/kafka-run.sh kafka.tools.StorageTool format -t "$cluster_id" -c "$props" "${scram[@]}" >&2
else
  log "data directory already formatted; starting"
fi
touch "$STATE/users"

# ---- admin API (port 9644) and post-start tasks -------------------------------------------------
python3 /usr/local/lib/topo/admin_server.py --port "$ADMIN_PORT" --kafka "$REPLICATION_ADDR" &
if [[ -n "$boot_user" ]] && ! grep -qxF "$boot_user" "$STATE/users"; then
  (
    for _ in $(seq 1 120); do
      curl -fsS "http://127.0.0.1:$ADMIN_PORT/v1/status/ready" >/dev/null 2>&1 && break; sleep 1
    done
    for attempt in 1 2 3 4 5; do
      if /usr/local/bin/rpk-standin acl user create "$boot_user" -p "$boot_pw" --mechanism "$boot_mech" >/dev/null 2>&1; then
        echo "$boot_user" >> "$STATE/users"; log "created bootstrap user $boot_user"; break
      fi
      [[ $attempt == 5 ]] && log "could not create bootstrap user $boot_user"; sleep 3
    done
  ) &
fi

log "Kafka $KAFKA_VERSION KRaft; listeners: ${listeners[*]}; advertised: ${advertised[*]}; SASL SCRAM only; superusers: $super"
exec java ${KAFKA_HEAP_OPTS:--Xmx768m} -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
  $KAFKA_LOG4J_OPTS -cp '/opt/kafka/libs/*' kafka.Kafka "$props"
