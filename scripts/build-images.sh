#!/usr/bin/env bash
# build-images.sh — build topo's base image and the offline stand-ins for the upstream images.
#
#   scripts/build-images.sh [--offline] [--rebuild] [NAME...]
#
#   NAME      base redpanda clickhouse dragonfly postgres   (default: all of them, in that order)
#   --offline never try to pull the upstream image; build the stand-in (the default also builds the
#             stand-in when the upstream ref is absent, but first tries a pull, bounded by
#             TOPO_PULL_TIMEOUT seconds, default 20)
#   --rebuild rebuild even when the tag already exists (base: re-import the cached rootfs; delete
#             .cache/topo-base-bookworm.tar to re-run debootstrap)
#   --no-cache  with --rebuild: do not use BuildKit's layer cache (cold timings)
#
# Stand-ins are tagged with the UPSTREAM refs so rendered compose files stay the same, and carry
# the labels org.topo.standin=true, org.topo.standin.for=<upstream ref>, org.topo.standin.note=...
# `docker image inspect -f '{{index .Config.Labels "org.topo.standin"}}' REF` tells them apart.
#
# The host CA bundle (TOPO_CA_BUNDLE, default /etc/ssl/certs/ca-certificates.crt) is passed to every
# build as the BuildKit secret `cacert`; it is never copied into an image.
# Builds use DOCKER_BUILDKIT=1 with a client that has BuildKit built in: the docker CLI 28 needs
# the buildx plugin for that, the OS package's /usr/bin/docker (20.10) does not; see
# scripts/provision-docker.sh. TOPO_DOCKER_BUILD_CLIENT overrides the choice.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
CA_BUNDLE="${TOPO_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
BASE_TAG="topo/base:bookworm"
BASE_TAR="$CACHE/topo-base-bookworm.tar"
KAFKA_VERSION="${TOPO_KAFKA_VERSION:-4.1.1}"
PULL_TIMEOUT="${TOPO_PULL_TIMEOUT:-20}"

ALL=(base redpanda clickhouse dragonfly postgres)
# The upstream refs come from topology.yaml (images.NAME.ref), so a stand-in is tagged with exactly the ref the
# rendering names; TOPO_STANDIN_REF overrides it when one NAME is built (topo images build passes it).
TOPOLOGY="${TOPO_TOPOLOGY:-$ROOT/topology.yaml}"
declare -A UPSTREAM=()
while read -r n r; do UPSTREAM[$n]="$r"; done < <(awk '
  /^images:/ {in_images=1; next}
  in_images && /^[^ #]/ {in_images=0}
  in_images && /^  [a-z0-9-]+:/ {name=$1; sub(":", "", name)}
  in_images && /^    ref:/ {print name, $2}' "$TOPOLOGY")
declare -A NOTE=(
  [redpanda]="Apache Kafka ${KAFKA_VERSION} (KRaft, single node) on openjdk-17 from Debian bookworm; rpk start grammar, SASL/SCRAM with deny-by-default ACLs and the admin API subset emulated"
  [clickhouse]="Debian bookworm clickhouse-server 18.16 (old: MergeTree/ReplacingMergeTree, JSONEachRow over HTTP; no Map/JSON/DateTime64/{param})"
  [dragonfly]="Debian bookworm redis-server 7.0; Dragonfly flag parsing, thread sizing and 256 MiB-per-thread floor enforced"
  [postgres]="Debian bookworm PostgreSQL 15 (not 16); official postgres image env/initdb contract emulated"
)

offline=0 rebuild=0 nocache=() names=()
for a in "$@"; do
  case "$a" in
    --offline) offline=1 ;;
    --rebuild) rebuild=1 ;;
    --no-cache) nocache=(--no-cache) ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    -*) echo "unknown option $a" >&2; exit 2 ;;
    *)
      if [[ " ${ALL[*]} " != *" $a "* ]]; then echo "unknown image '$a' (known: ${ALL[*]})" >&2; exit 2; fi
      names+=("$a") ;;
  esac
done
[[ ${#names[@]} -gt 0 ]] || names=("${ALL[@]}")

say() { echo "[build-images $(date +%H:%M:%S)] $*"; }
die() { echo "[build-images] ERROR: $*" >&2; exit 1; }

docker info >/dev/null 2>&1 || die "no docker engine answers; run scripts/provision-docker.sh first"
[[ -r "$CA_BUNDLE" ]] || die "CA bundle $CA_BUNDLE not readable (set TOPO_CA_BUNDLE)"

# A docker client whose BuildKit works without buildx.
pick_build_client() {
  if [[ -n "${TOPO_DOCKER_BUILD_CLIENT:-}" ]]; then echo "$TOPO_DOCKER_BUILD_CLIENT"; return; fi
  local c
  for c in "$(command -v docker)" /usr/bin/docker; do
    [[ -x "$c" ]] || continue
    if "$c" buildx version >/dev/null 2>&1; then echo "$c"; return; fi          # has buildx
    case "$("$c" version --format '{{.Client.Version}}' 2>/dev/null)" in
      1[89].*|20.*|21.*|22.*) echo "$c"; return ;;                              # BuildKit built in
    esac
  done
  echo docker
}
BUILD_DOCKER="$(pick_build_client)"

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
size_of() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1000/1000}'; }

image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null || true; }
# Remove the image a rebuild replaced, only if it is now untagged and was one of ours
# (`docker image prune` with label filters does not remove them on engine 20.10).
drop_replaced() {
  local old="$1" ref="$2"
  [[ -n "$old" && "$old" != "$(image_id "$ref")" ]] || return 0
  local tags labels
  tags="$(docker image inspect -f '{{len .RepoTags}}' "$old" 2>/dev/null || echo 1)"
  labels="$(docker image inspect -f '{{index .Config.Labels "org.topo.standin.for"}}{{index .Config.Labels "org.topo.base"}}' "$old" 2>/dev/null || true)"
  if [[ "$tags" == 0 && -n "$labels" ]]; then docker image rm "$old" >/dev/null 2>&1 || true; fi
}

declare -A TIMES=()

build_base() {
  if have_image "$BASE_TAG" && [[ $rebuild == 0 ]]; then
    say "base: $BASE_TAG present — skipped"; return 0
  fi
  mkdir -p "$CACHE"
  if [[ ! -s "$BASE_TAR" ]]; then
    [[ "$(id -u)" == 0 ]] || die "debootstrap needs root"
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap missing (scripts/provision-docker.sh installs it)"
    local dir; dir="$(mktemp -d /var/tmp/topo-base.XXXXXX)"
    say "base: debootstrap --variant=minbase bookworm $dir (default Debian mirror)"
    debootstrap --variant=minbase bookworm "$dir" > "$CACHE/debootstrap.log" 2>&1 || {
      tail -n 30 "$CACHE/debootstrap.log" >&2; rm -rf "$dir"; die "debootstrap failed (log $CACHE/debootstrap.log)"; }
    # Add bookworm-updates and the security suite, derived from the mirror debootstrap used.
    local line mirror
    line="$(grep -m1 '^deb ' "$dir/etc/apt/sources.list")"
    mirror="$(awk '{print $2}' <<<"$line")"
    {
      echo "deb $mirror bookworm main"
      echo "deb $mirror bookworm-updates main"
      echo "deb ${mirror%/}-security bookworm-security main"
    } > "$dir/etc/apt/sources.list"
    # Small, quiet apt for image builds.
    cat > "$dir/etc/apt/apt.conf.d/90topo" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
    printf '#!/bin/sh\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"; chmod +x "$dir/usr/sbin/policy-rc.d"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/var/log/*.log "$dir"/tmp/*
    tar --numeric-owner -C "$dir" -cf "$BASE_TAR.tmp" .
    mv "$BASE_TAR.tmp" "$BASE_TAR"
    rm -rf "$dir"
    say "base: rootfs cached in ${BASE_TAR#"$ROOT"/} ($(du -h "$BASE_TAR" | cut -f1))"
  else
    say "base: using cached rootfs ${BASE_TAR#"$ROOT"/}"
  fi
  local old_id; old_id="$(image_id "$BASE_TAG")"
  docker import \
    --change 'CMD ["/bin/bash"]' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV DEBIAN_FRONTEND=noninteractive' \
    --change 'LABEL org.topo.base=debootstrap-minbase-bookworm' \
    - "$BASE_TAG" < "$BASE_TAR" >/dev/null
  say "base: imported $BASE_TAG ($(size_of "$BASE_TAG"))"
  drop_replaced "$old_id" "$BASE_TAG"
}

# Kafka jars for the redpanda stand-in, resolved from Maven Central with a tiny pom.
kafka_jars() {
  local out="$CACHE/kafka-$KAFKA_VERSION/libs"
  if [[ -f "$out/.complete" ]]; then echo "$out"; return; fi
  command -v mvn >/dev/null 2>&1 || die "mvn is needed to fetch the Kafka jars from Maven Central (apt-get install maven)"
  local work="$CACHE/kafka-$KAFKA_VERSION"
  mkdir -p "$work"
  sed "s/@KAFKA_VERSION@/$KAFKA_VERSION/g" "$ROOT/images/standins/redpanda/pom.xml.in" > "$work/pom.xml"
  say "redpanda: resolving Kafka $KAFKA_VERSION jars from Maven Central (mvn dependency:copy-dependencies)" >&2
  rm -rf "$out"
  (cd "$work" && mvn -B -q -f pom.xml dependency:copy-dependencies \
      -DoutputDirectory="$out" -DincludeScope=runtime >"$work/mvn.log" 2>&1) || {
    tail -n 30 "$work/mvn.log" >&2; die "mvn failed (log $work/mvn.log)"; }
  touch "$out/.complete"
  echo "$out"
}

build_standin() {
  local name="$1" ref="${TOPO_STANDIN_REF:-${UPSTREAM[$1]:-}}"
  [[ -n "$ref" ]] || die "$name: no images.$name.ref in $TOPOLOGY"
  if have_image "$ref" && [[ $rebuild == 0 ]]; then
    local s; s="$(docker image inspect -f '{{index .Config.Labels "org.topo.standin"}}' "$ref" 2>/dev/null || true)"
    say "$name: $ref present ($([[ $s == true ]] && echo stand-in || echo upstream)) — skipped"; return 0
  fi
  if [[ $offline == 0 && $rebuild == 0 ]]; then
    say "$name: trying docker pull $ref (timeout ${PULL_TIMEOUT}s; --offline skips this)"
    if timeout "$PULL_TIMEOUT" docker pull -q "$ref" >/dev/null 2>&1; then
      say "$name: pulled upstream $ref"; return 0
    fi
    say "$name: pull failed — building the offline stand-in"
  fi
  have_image "$BASE_TAG" || build_base
  local old_id; old_id="$(image_id "$ref")"
  local ctx="$CACHE/build/$name"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp -a "$ROOT/images/standins/$name/." "$ctx/"
  if [[ $name == redpanda ]]; then
    local jars; jars="$(kafka_jars)"
    mkdir -p "$ctx/kafka-libs"
    cp -a "$jars"/*.jar "$ctx/kafka-libs/"
  fi
  say "$name: building $ref with $BUILD_DOCKER (DOCKER_BUILDKIT=1, CA bundle as secret 'cacert')"
  local log="$CACHE/build/$name.log"
  if ! DOCKER_BUILDKIT=1 BUILDKIT_PROGRESS=plain "$BUILD_DOCKER" build \
        --secret id=cacert,src="$CA_BUNDLE" ${nocache[@]+"${nocache[@]}"} \
        --build-arg KAFKA_VERSION="$KAFKA_VERSION" \
        --label org.topo.standin=true \
        --label "org.topo.standin.for=$ref" \
        --label "org.topo.standin.note=${NOTE[$name]}" \
        --label "org.topo.context=${TOPO_STANDIN_CONTEXT:-}" \
        -t "$ref" "$ctx" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "$name: build failed (full log $log)"
  fi
  say "$name: built $ref ($(size_of "$ref"))"
  drop_replaced "$old_id" "$ref"
}

for n in "${names[@]}"; do
  t0=$SECONDS
  if [[ $n == base ]]; then build_base; else build_standin "$n"; fi
  TIMES[$n]=$((SECONDS - t0))
done

say "summary:"
for n in "${names[@]}"; do
  ref="$BASE_TAG"; [[ $n == base ]] || ref="${UPSTREAM[$n]}"
  if have_image "$ref"; then
    printf '  %-11s %-40s %8s  %4ss\n' "$n" "$ref" "$(size_of "$ref")" "${TIMES[$n]}"
  else
    printf '  %-11s %-40s %8s  %4ss\n' "$n" "$ref" "missing" "${TIMES[$n]}"
  fi
done
