"""The hosts topo knows: one module per host, registered here and nowhere else.

A target turns the model into files and says what it cannot represent (Target). A host topo can also run
locally with the same images is a Host: a Target plus its run policy (harness/targets/base.py). Targets never read
YAML; they read harness.model only. To add a host, follow "Adding a host" in ARCHITECTURE.md.
"""
from __future__ import annotations

from harness.errors import TopoError
from harness.targets.aws import AwsTarget
from harness.targets.aws_emulation import AwsEmulationTarget
from harness.targets.cloudrun import CloudRunTarget
from harness.targets.cloudrun_emulation import CloudRunEmulationTarget
from harness.targets.base import UNREPRESENTABLE, Host, Rendering, Target, View
from harness.targets.compose import ComposeTarget
from harness.targets.railway import RailwayTarget
from harness.targets.railway_emulation import RailwayEmulationTarget

TARGETS: dict[str, type[Target]] = {t.name: t for t in (ComposeTarget, AwsTarget, AwsEmulationTarget, RailwayTarget,
                                                       RailwayEmulationTarget, CloudRunTarget,
                                                       CloudRunEmulationTarget)}
RUNNABLE: tuple[str, ...] = tuple(name for name, t in TARGETS.items() if t.runnable)


def host(name: str) -> type[Host]:
    """The runnable host class registered under `name`, or a TopoError naming the runnable ones."""
    cls = TARGETS.get(name)
    if cls is None or not cls.runnable:
        what = "not runnable locally" if cls is not None else "unknown"
        raise TopoError(f"cannot run target {name!r} ({what}); runnable targets: {', '.join(RUNNABLE)}")
    return cls  # type: ignore[return-value]


__all__ = ["TARGETS", "RUNNABLE", "host", "Host", "Rendering", "Target", "View", "UNREPRESENTABLE",
           "ComposeTarget", "AwsTarget", "AwsEmulationTarget", "RailwayTarget",
           "RailwayEmulationTarget", "CloudRunTarget", "CloudRunEmulationTarget"]
