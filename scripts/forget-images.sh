#!/usr/bin/env bash
# forget-images.sh — remove every image this project made or pulled, and the builder cache, from the engine
# that answers: what .ci/run does when it finds an engine already running, so that CI still proves a fresh
# machine (nothing built in earlier work can make it pass). Containers of the project are removed first.
#
#   scripts/forget-images.sh [-f topology.yaml]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
topology=topology.yaml
[[ "${1:-}" == -f ]] && topology="$2"
say() { echo "forget-images: $*"; }
docker info >/dev/null 2>&1 || { say "no engine answers; nothing to forget"; exit 0; }
# containers first (an image in use cannot be removed)
mapfile -t ctrs < <(docker ps -aq --filter label=org.topo.project)
[[ ${#ctrs[@]} -gt 0 ]] && docker rm -f "${ctrs[@]}" >/dev/null && say "removed ${#ctrs[@]} container(s)"
# the refs of topology.yaml (images.*.ref), the base, and anything labelled as ours
mapfile -t refs < <(sed -n 's/^ *ref: *\([^ #]*\).*/\1/p' "$topology"; echo topo/base:bookworm)
for label in org.topo.image org.topo.standin org.topo.base; do
  mapfile -t -O "${#refs[@]}" refs < <(docker images -q --filter "label=$label")
done
n=0
for r in "${refs[@]}"; do
  [[ -n "$r" ]] || continue
  if docker image inspect "$r" >/dev/null 2>&1; then docker image rm -f "$r" >/dev/null 2>&1 && n=$((n + 1)) || true; fi
done
say "removed $n image(s)"
docker builder prune -af >/dev/null 2>&1 && say "builder cache pruned" || say "builder cache: nothing to prune"
docker image prune -f >/dev/null 2>&1 || true
