"""The example topologies put the platform chapter's two mistakes back; topo must show users the difference."""
from __future__ import annotations

import subprocess
import sys

import pytest

from examples.generate import EXAMPLES, render
from harness.loader import load
from tests.conftest import ROOT


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_are_regenerated(name):
    assert (ROOT / "examples" / name / "topology.yaml").read_text() == render(name), "run `make examples`"


def test_validate_warns_about_lightsail_names():
    _, warnings = load(ROOT / "examples" / "lightsail-by-name" / "topology.yaml")
    messages = [str(w) for w in warnings]
    assert any("services.frontend.env.BACKEND_URL: 'backend' is written as a literal hostname; on Lightsail "
               "containers do not resolve each other's names (backend is reached on localhost)" in m for m in messages)


def test_validate_warns_about_spot_on_service_managed_ebs():
    _, warnings = load(ROOT / "examples" / "spot-service-managed-ebs" / "topology.yaml")
    assert [w.path for w in warnings] == ["services.redpanda.placement.aws", "services.clickhouse.placement.aws"]
    assert all("service-managed EBS volume is replaced with its task" in w.message for w in warnings)


def gate(name: str, select: str, tmp_path) -> tuple[int, str]:
    cmd = [sys.executable, "-m", "harness.cli", "gate", "-f", str(ROOT / "examples" / name / "topology.yaml"),
           "--target", "aws-emulation", "--skip-render-check", "-k", select, "--events", "200",
           "--report-dir", str(tmp_path)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    report = (tmp_path / "contracts.md").read_text() if (tmp_path / "contracts.md").exists() else ""
    return out.returncode, report + out.stdout + out.stderr


@pytest.mark.docker
def test_the_gate_fails_when_lightsail_containers_use_names(tmp_path):
    code, report = gate("lightsail-by-name", "reaches_its_service", tmp_path)
    assert code == 1, report[-3000:]
    import re

    # inside the Lightsail pod the names do not resolve: either the stack never gets healthy (the frontend
    # cannot reach `backend`) or the environment contract names the unreachable variable
    assert re.search(r"(DRAGONFLY_HOST|FRONTEND_URL|BACKEND_URL) → (dragonfly|frontend|backend):\d+ is unreachable"
                     r"|host='backend', port=8000.*(NameResolutionError|Failed to resolve|Name or service not known)",
                     report), report[-2000:]


@pytest.mark.docker
def test_the_gate_fails_when_spot_tasks_use_service_managed_ebs(tmp_path):
    code, report = gate("spot-service-managed-ebs", "spot", tmp_path)
    assert code == 1, report[-3000:]
    assert "volume was replaced with its task (volume_lifecycle: service-managed)" in report
    assert "declare volume_lifecycle: retained" in report
