"""Measured CPU and memory of a compose project's containers over a window, written as usage.json.

Usage-billed hosts (Railway: per vCPU-minute and per GB-minute actually used) can only be estimated from what the
services really use, so `topo cost --compare railway aws` reads this file and never guesses. A daemon thread asks the
Docker stats API (the `docker` SDK, one-shot stats: no second sample per call) every `interval` seconds for each
container of the project: cumulative CPU nanoseconds and current memory (usage minus inactive file cache, as
`docker stats` shows it). `aggregate()` turns the rounds into per-service average vCPU (CPU time used in the window
÷ the window) and average and peak memory; it is pure, so it is tested on made-up samples.

Sampling never raises: when the engine or its stats cannot be read, the document says why (`unavailable`) and has
no services, so a cost estimate from it says it has no measurement instead of printing a number.
"""
from __future__ import annotations

import json
import os
import platform
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = "topo.usage/1"
MIB = 1024 * 1024


def parse_stats(raw: dict) -> tuple[int | None, int | None]:
    """One Docker stats answer → (cumulative CPU ns, memory bytes in use), None where the answer has none.

    Memory is what `docker stats` shows: usage minus the inactive file cache (cgroup v1 `total_inactive_file`,
    v2 `inactive_file`), since the page cache can be reclaimed and is not what a service needs.
    """
    cpu = (raw.get("cpu_stats") or {}).get("cpu_usage", {}).get("total_usage")
    mem = raw.get("memory_stats") or {}
    usage = mem.get("usage")
    if usage is not None:
        stats = mem.get("stats") or {}
        cache = stats.get("total_inactive_file", stats.get("inactive_file", 0)) or 0
        usage = usage - cache if cache < usage else usage
    return (int(cpu) if cpu is not None else None), (int(usage) if usage is not None else None)


def aggregate(rounds: list[dict]) -> dict:
    """Rounds of samples → per-service figures over the window from the first round to the last.

    A round is {"t": epoch seconds, "containers": [{"id", "service", "cpu_ns", "mem_bytes", "started"}]}
    (`started`: epoch seconds the container last started, optional). CPU: for each container the increase of its
    cumulative counter between consecutive rounds; a counter that went down (the container restarted) counts from
    zero; a container first seen after the first round counts its whole counter when it started inside the window
    (recreated by a fault contract, say), else only from where it was first seen. Memory: per round the sum over
    the service's containers; average and peak over the rounds in which the service had a container.
    """
    rounds = sorted((r for r in rounds if r.get("containers") is not None), key=lambda r: r["t"])
    if len(rounds) < 2:
        return {"window_s": 0.0, "rounds": len(rounds), "services": {}}
    t0, t1 = rounds[0]["t"], rounds[-1]["t"]
    window = t1 - t0
    cpu_ns: dict[str, int] = {}
    mem: dict[str, list[float]] = {}
    containers: dict[str, set[str]] = {}
    last: dict[str, int] = {}
    for i, r in enumerate(rounds):
        per_round: dict[str, float] = {}
        for c in r["containers"]:
            svc, cid = c["service"], c["id"]
            containers.setdefault(svc, set()).add(cid)
            cpu_ns.setdefault(svc, 0)
            if c.get("cpu_ns") is not None:
                now = int(c["cpu_ns"])
                if cid in last:
                    cpu_ns[svc] += now - last[cid] if now >= last[cid] else now
                elif i > 0 and c.get("started") is not None and c["started"] >= t0:
                    cpu_ns[svc] += now
                last[cid] = now
            if c.get("mem_bytes") is not None:
                per_round[svc] = per_round.get(svc, 0.0) + c["mem_bytes"]
        for svc, b in per_round.items():
            mem.setdefault(svc, []).append(b / MIB)
    services = {}
    for svc in sorted(containers):
        m = mem.get(svc, [])
        services[svc] = {
            "avg_vcpu": round(cpu_ns[svc] / (window * 1e9), 4) if window > 0 else 0.0,
            "cpu_seconds": round(cpu_ns[svc] / 1e9, 2),
            "avg_mem_mib": round(sum(m) / len(m), 1) if m else None,
            "peak_mem_mib": round(max(m), 1) if m else None,
            "containers": len(containers[svc]),
            "memory_samples": len(m),
        }
    return {"window_s": round(window, 1), "rounds": len(rounds), "services": services}


class UsageSampler:
    """Samples one compose project every `interval` seconds on a daemon thread, from start() until stop().

    Bounded: at most `max_rounds` rounds are kept (then sampling stops and the document says so); stop() waits at
    most one interval plus a few seconds for the thread. Never raises: failures are recorded, not thrown.
    """

    def __init__(self, project: str, interval: float = 2.0, max_rounds: int = 10_800, client=None):
        self.project = project
        self.interval = interval
        self.max_rounds = max_rounds
        self.rounds: list[dict] = []
        self.errors = 0
        self.last_error = ""
        self.unavailable = ""
        self.note = ""
        self._client = client
        self._started: dict[str, float | None] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._engine = ""

    def start(self) -> "UsageSampler":
        if not self.project:
            self.unavailable = "no compose project to sample (the target runs no stack of its own)"
            return self
        try:
            if self._client is None:
                import docker

                self._client = docker.from_env(timeout=15)
            self._engine = str(self._client.version().get("Version", ""))
        except Exception as exc:  # noqa: BLE001 — a measurement is optional; the gate must not fail for it
            self.unavailable = f"Docker engine not reachable for stats: {type(exc).__name__}: {exc}"[:300]
            return self
        self.started_at = datetime.now(timezone.utc)
        self._thread = threading.Thread(target=self._run, name=f"usage-{self.project}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            if len(self.rounds) >= self.max_rounds:
                self.note = f"sampling stopped after {self.max_rounds} rounds (the bound)"
                return
            try:
                self.rounds.append(self.sample_once())
            except Exception as exc:  # noqa: BLE001
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def sample_once(self) -> dict:
        """One round: every running container of the project, its stats asked for in parallel (one call takes
        about a second on a busy engine, so a dozen one after the other would not fit in the interval)."""
        api = self._client.api
        listed = api.containers(filters={"label": f"com.docker.compose.project={self.project}", "status": "running"})
        t = time.time()

        def one(c: dict) -> dict | None:
            cid = c["Id"]
            service = (c.get("Labels") or {}).get("com.docker.compose.service", c["Names"][0].lstrip("/"))
            try:
                cpu, mem = parse_stats(api.stats(cid, stream=False, one_shot=True))
                if cid not in self._started:
                    self._started[cid] = _epoch(api.inspect_container(cid)["State"].get("StartedAt", ""))
            except Exception as exc:  # noqa: BLE001 — a container may stop between list and stats
                self.errors += 1
                self.last_error = f"{service}: {type(exc).__name__}: {exc}"[:300]
                return None
            return {"id": cid[:12], "service": service, "cpu_ns": cpu, "mem_bytes": mem,
                    "started": self._started.get(cid)}

        with ThreadPoolExecutor(max_workers=max(1, min(8, len(listed)))) as pool:
            rows = [r for r in pool.map(one, listed) if r is not None]
        return {"t": (t + time.time()) / 2, "containers": rows}

    def stop(self, **extra) -> dict:
        """Stop sampling and return the usage document (see `document`), with `extra` keys; never raises."""
        self._stop.set()
        try:
            if self._thread is not None:
                self._thread.join(timeout=self.interval + 20)
            return self.document(**extra)
        except Exception as exc:  # noqa: BLE001 — a measurement must never fail what it measures
            return {"schema": SCHEMA, "unavailable": f"could not aggregate the samples: {type(exc).__name__}: {exc}",
                    "services": {}, **extra}

    def document(self, **extra) -> dict:
        agg = aggregate(self.rounds)
        why = self.unavailable
        if not why and not agg["services"]:
            why = (f"fewer than two rounds of stats were read ({len(self.rounds)}; {self.errors} errors"
                   + (f", last: {self.last_error}" if self.last_error else "") + ")")
        return {
            "schema": SCHEMA,
            "measured": {
                "at": (getattr(self, "started_at", None) or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
                "host": socket.gethostname(), "cpus": os.cpu_count(), "machine": platform.machine(),
                "docker_engine": self._engine or None, "project": self.project,
                "how": f"Docker stats API (one-shot) every {self.interval:g} s; CPU from cumulative CPU ns, memory "
                       "= usage minus inactive file cache",
            },
            "window_s": agg["window_s"], "interval_s": self.interval, "rounds": agg["rounds"],
            "sample_errors": self.errors, "last_error": self.last_error or None,
            "unavailable": why or None, "note": self.note or None,
            "services": agg["services"], **extra,
        }


def _epoch(text: str) -> float | None:
    """Docker's '2026-11-27T20:50:29.123456789Z' → epoch seconds (None for the zero time or nonsense)."""
    if not text or text.startswith("0001-"):
        return None
    main, _, frac = text.rstrip("Z").partition(".")
    try:
        base = datetime.fromisoformat(main).replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None
    return base + (float("0." + frac[:6]) if frac else 0.0)


def write(path: Path, doc: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def load(path: Path) -> dict | None:
    """The usage document at `path`, or None when there is no file (a broken file raises ValueError)."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a usage file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a usage file (schema {doc.get('schema') if isinstance(doc, dict) else '?'!r}, "
                         f"expected {SCHEMA!r})")
    return doc
