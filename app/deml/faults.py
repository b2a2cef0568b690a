"""Fault injection for the contract suite — off unless DEML_FAULTS is set (never in a rendered topology).

DEML_FAULTS="name[:probability],..."; e.g. "relay_crash_between:0.3,worker_skip_marker_check".
  relay_crash_between        the relay exits between its two steps (produce, mark) of a batch
  relay_mark_before_produce  BROKEN variant: the relay marks rows published before producing them
  worker_crash_before_commit the telemetry-worker exits after both writes, before the offset commit
  worker_skip_marker_check   BROKEN variant: the worker projects without the processed-marker check
The process exits with os._exit (no cleanup, like SIGKILL); the container's restart policy brings it back.
"""
from __future__ import annotations

import logging
import os
import random

log = logging.getLogger("deml.faults")


def _parse() -> dict[str, float]:
    out = {}
    for item in os.environ.get("DEML_FAULTS", "").split(","):
        item = item.strip()
        if not item:
            continue
        name, _, prob = item.partition(":")
        out[name] = float(prob) if prob else 1.0
    return out


FAULTS = _parse()


def active(name: str) -> bool:
    return name in FAULTS


def fires(name: str) -> bool:
    return name in FAULTS and random.random() < FAULTS[name]


def crash(name: str, detail: str) -> None:
    log.error("fault %s injected: exiting now (%s)", name, detail)
    logging.shutdown()
    os._exit(3)
