"""The rendered compose file is accepted by Compose v2 itself (`docker compose config`).

Compose is provisioned by .ci/run and `make test`; in CI its absence is a failure, not a skip.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from harness.targets.compose import secret_env_var
from harness.loader import load
from tests.conftest import ROOT


def _compose_v2() -> bool:
    if not shutil.which("docker"):
        return False
    out = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    return out.returncode == 0 and " v2." in out.stdout


pytestmark = pytest.mark.skipif(not _compose_v2() and not os.environ.get("CI"),
                                reason="Compose v2 not installed here (run scripts/provision-docker.sh)")


def test_docker_compose_config_accepts_the_rendering(tmp_path):
    assert _compose_v2(), "CI must provide Compose v2 (scripts/provision-docker.sh)"
    topology, _ = load(ROOT / "topology.yaml")
    env = {**os.environ, **{secret_env_var(s): "dummy-for-config-check" for s in topology.secrets}}
    cmd = ["docker", "compose", "-p", "topo-config-check", "-f", str(ROOT / "compose" / "docker-compose.yml"),
           "config", "--no-interpolate", "--format", "yaml"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    doc = yaml.safe_load(out.stdout)
    assert set(doc["services"]) == {s.name for s in topology.services}
    assert doc["services"]["frontend"]["read_only"] is True
    # with interpolation too (secrets come from the environment at `up` time)
    out = subprocess.run(cmd[:-4] + ["config", "-q"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def test_docker_compose_config_names_a_missing_secret(tmp_path):
    assert _compose_v2(), "CI must provide Compose v2 (scripts/provision-docker.sh)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPO_SECRET_")}
    out = subprocess.run(["docker", "compose", "-p", "topo-config-check", "-f", str(ROOT / "compose" / "docker-compose.yml"),
                          "config", "-q"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode != 0
    assert "run topo up (it creates .topo/secrets.env)" in out.stderr
