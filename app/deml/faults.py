"""Fault injection for the contract suite — off unless DEML_FAULTS is set (never in a rendered topology).

DEML_FAULTS="name[:probability|@every],..."; e.g. "relay_crash_between@3,worker_skip_marker_check".
  name:0.3   fires on 30% of the points where it is consulted (random)
  name@75    fires at the first point after 75 units (rows, events) have passed since the process started or
             the fault last fired; deterministic, so a run with more units always fires, about n/(75 + a batch)
             times whatever the batch sizes; and a restarted process always finishes 75 units before it fails,
             so it makes progress even in a broken variant that treats every redelivery as new
  name       always (the BROKEN variants, which change behaviour rather than crash)
  relay_crash_between        the relay exits between its two steps (produce, mark) of a batch
  relay_mark_before_produce  BROKEN variant: the relay marks rows published before producing them
  worker_crash_before_commit the telemetry-worker exits after both writes, before the offset commit
  worker_skip_marker_check   BROKEN variant: the worker projects without the processed-marker check
  worker_tenant0_uncounted   BROKEN variant: the worker never updates the platform tenant's counters
  backend_outbox_apart       BROKEN variant: the backend commits the outbox row in its own transaction, before
                             the domain row (a dual write: a rolled-back action still yields an event)
The process exits with os._exit (no cleanup, like SIGKILL); the container's restart policy brings it back.
"""
from __future__ import annotations

import logging
import os
import random

log = logging.getLogger("deml.faults")


def parse(spec: str) -> dict[str, float | int]:
    """{name: probability (float) or every-K (int)}; a bad item stops the process with a clear message."""
    out: dict[str, float | int] = {}
    for item in spec.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            if "@" in item:
                name, _, every = item.partition("@")
                out[name] = int(every)
                if out[name] < 1:
                    raise ValueError
            else:
                name, _, prob = item.partition(":")
                out[name] = float(prob) if prob else 1.0
        except ValueError:
            raise SystemExit(f"DEML_FAULTS: {item!r} is not name, name:probability (0..1) or name@every (>= 1)")
    return out


FAULTS = parse(os.environ.get("DEML_FAULTS", ""))
_seen: dict[str, int] = {}  # units passed since the process started
_due: dict[str, int] = {}  # the count of earlier units at which the fault fires next


def active(name: str) -> bool:
    return name in FAULTS


def fires(name: str, units: int = 1) -> bool:
    """Whether the fault fires at this point, which covers `units` rows or events."""
    if name not in FAULTS:
        return False
    rule = FAULTS[name]
    if isinstance(rule, int):
        before = _seen.get(name, 0)
        _seen[name] = before + units
        if before >= _due.get(name, rule):
            _due[name] = before + rule
            return True
        return False
    return random.random() < rule


def crash(name: str, detail: str) -> None:
    log.error("fault %s injected: exiting now (%s)", name, detail)
    logging.shutdown()
    os._exit(3)
