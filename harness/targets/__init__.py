"""One module per target. A target turns the model into files and says what it cannot represent.

Targets never read YAML; they read harness.model only.
"""
from __future__ import annotations

from harness.targets.aws import AwsTarget
from harness.targets.aws_emulation import AwsEmulationTarget
from harness.targets.base import Rendering, Target
from harness.targets.compose import ComposeTarget

TARGETS: dict[str, type[Target]] = {t.name: t for t in (ComposeTarget, AwsTarget, AwsEmulationTarget)}

__all__ = ["TARGETS", "Rendering", "Target", "ComposeTarget", "AwsTarget", "AwsEmulationTarget"]
