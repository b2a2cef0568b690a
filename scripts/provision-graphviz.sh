#!/usr/bin/env bash
# provision-graphviz.sh — make Graphviz `dot` usable: it lays out `topo graph --format svg` (harness/graph.py)
# and tests/test_graph.py checks the pictures it draws. Idempotent: nothing to do when `dot` answers.
#
# Otherwise, on a Debian-family machine as root, it installs the OS package without recommends (measured
# 2026-11-27 on Debian bookworm: graphviz 2.42.2 + 9 libraries, 2.4 MB download, 9.4 MB installed, 13 s).
# Elsewhere it prints what to do; that is an error only in CI (CI=true), where the graph tests must run —
# on a workstation the SVG tests skip and `topo graph --format mermaid` needs nothing.
set -euo pipefail
say() { echo "topo: $*"; }

command -v dot >/dev/null 2>&1 && exit 0

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1 && \
   grep -qiE '^(ID|ID_LIKE)=.*debian' /etc/os-release 2>/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  say "apt-get install graphviz (Graphviz dot, for topo graph --format svg)"
  # the package lists of a fresh machine may be empty or stale: update once and retry
  if ! apt-get install -y -q --no-install-recommends graphviz </dev/null >/dev/null; then
    apt-get update -q </dev/null >/dev/null
    apt-get install -y -q --no-install-recommends graphviz </dev/null >/dev/null
  fi
  say "$(dot -V 2>&1)"
  exit 0
fi

say "Graphviz \`dot\` is not installed and cannot be installed here automatically (needs root on Debian/Ubuntu)."
say "Install the graphviz package (apt-get install graphviz, brew install graphviz, ...) to draw SVG graphs."
if [[ "${CI:-}" == "true" ]]; then
  say "ERROR: CI=true: the graph tests must run in CI"
  exit 1
fi
