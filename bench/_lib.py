"""Shared pieces of the benchmarks: the repository root, ephemeral stacks, docker helpers, statistics.

Every benchmark uses topo's public testing API (harness.testing) on an ephemeral compose project (unique name,
shifted host ports) and always tears it down with its volumes.
"""
from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "app"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from harness.testing import Environment, load_topology, prepare  # noqa: E402


def topology():
    return load_topology(ROOT / "topology.yaml")


def ephemeral(prefix: str, project: str = "", port_offset: int | None = None) -> Environment:
    """An ephemeral environment of the reference topology, not brought up yet (`.up()`, or `.attach()` to a
    project that already runs)."""
    return prepare(ROOT / "topology.yaml", project=project or f"{topology().project}-{prefix}-{uuid.uuid4().hex[:6]}",
                   port_offset=port_offset)


def teardown(env: Environment, log=print) -> None:
    """`compose down --volumes` and remove the rendered file of the ephemeral project; never raises."""
    t0 = time.monotonic()
    try:
        env.close()
    except Exception as exc:  # noqa: BLE001 — teardown must not hide the benchmark's own error
        log(f"teardown of {env.project} failed: {exc}")
    log(f"torn down {env.project} (containers + volumes) in {time.monotonic() - t0:.1f} s")


def docker(*args: str, timeout: float = 60) -> str:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {out.stderr.strip()[:300]}")
    return out.stdout


def project_containers(project: str, all_states: bool = True) -> dict[str, str]:
    """container name → compose service, for one compose project."""
    args = ["ps", "--filter", f"label=com.docker.compose.project={project}",
            "--format", '{{.Names}} {{.Label "com.docker.compose.service"}}']
    if all_states:
        args.insert(1, "-a")
    rows = {}
    for line in docker(*args).splitlines():
        parts = line.split()
        if len(parts) == 2:
            rows[parts[0]] = parts[1]
    return rows


def project_volumes(project: str) -> list[str]:
    return docker("volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}").split()


_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "TiB": 1024 ** 4,
          "kB": 1000, "KB": 1000, "MB": 1000 ** 2, "GB": 1000 ** 3}


def parse_size(text: str) -> float:
    """'123.4MiB' → bytes."""
    text = text.strip()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * _UNITS[unit]
    return float(text)


def pct(values: list[float], q: float) -> float:
    """Percentile (nearest rank, q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def median(values: list[float]) -> float:
    return statistics.median(values)


def ts_epoch(value: str) -> float:
    """Firestore timestampValue '2026-05-09T07:35:25.123456Z' (any fraction length) → epoch seconds."""
    value = value.rstrip("Z")
    main, _, frac = value.partition(".")
    base = datetime.fromisoformat(main + "+00:00").timestamp()
    return base + (float("0." + frac) if frac else 0.0)


def dump_json(label: str, data: dict) -> None:
    print(f"{label} " + json.dumps(data, sort_keys=True, separators=(",", ":")))
