"""Write a target's files, or compare them with what is committed (drift check)."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from harness.asyncapi import AsyncApiSpec
from harness.errors import RenderError
from harness.model import Topology
from harness.targets import TARGETS, Rendering

# What `topo render` writes: every host's files, then the specs drawn from the same model (not hosts: nothing runs
# them). `topo render NAME` takes any of these names; `--check` compares all of them.
RENDERERS: dict[str, type] = {**TARGETS, AsyncApiSpec.name: AsyncApiSpec}


@dataclass
class Drift:
    path: str
    state: str  # "missing" | "changed"
    diff: str


def render(topology: Topology, targets: list[str] | None = None, strict: bool = False) -> list[Rendering]:
    renderings = [RENDERERS[name]().render(topology) for name in (targets or list(RENDERERS))]
    if strict:
        blocking = [n for r in renderings for n in r.notes if n.severity in ("warning", "error")]
        if blocking:
            raise RenderError(blocking)
    errors = [n for r in renderings for n in r.notes if n.severity == "error"]
    if errors:
        raise RenderError(errors)
    return renderings


def write(renderings: list[Rendering], root: Path) -> list[str]:
    written = []
    for r in renderings:
        for rel, text in r.files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists() or path.read_text() != text:
                path.write_text(text)
                written.append(rel)
    return written


def drift(renderings: list[Rendering], root: Path) -> list[Drift]:
    out = []
    for r in renderings:
        for rel, text in r.files.items():
            path = root / rel
            if not path.exists():
                out.append(Drift(rel, "missing", ""))
                continue
            current = path.read_text()
            if current != text:
                diff = "".join(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                    f"{rel} (committed)", f"{rel} (from topology.yaml)", n=1))
                out.append(Drift(rel, "changed", diff))
    return out
