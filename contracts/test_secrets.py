"""Secrets: no value in rendered files or image labels; on compose, none in our containers' inspect output."""
from __future__ import annotations

import json
import warnings

import pytest

from harness.runtime.docker import run

pytestmark = pytest.mark.control


def secret_values(stack) -> dict[str, str]:
    return {k: v for k, v in stack.secrets.items() if len(v) >= 8}


def check_no_value(where: str, text: str, values: dict[str, str]) -> None:
    leaked = [name for name, value in values.items() if value in text]
    assert not leaked, f"{where} contains the value of {', '.join(leaked)}"


def test_no_secret_value_in_rendered_files(stack):
    """No secret value appears in any rendered file (compose, AWS inputs, the stack's own compose file)."""
    values = secret_values(stack)
    files = [stack.compose_file] + list((stack.root / "compose").glob("*.yml")) + list((stack.root / "deploy").rglob("*.json"))
    for f in files:
        check_no_value(str(f.relative_to(stack.root)), f.read_text(), values)


def test_no_secret_value_in_image_labels(stack):
    """No secret value appears in the labels or environment baked into any image of the topology."""
    values = secret_values(stack)
    for image in stack.topology.images.values():
        config = json.loads(run(["docker", "image", "inspect", image.ref]).stdout)[0]["Config"]
        check_no_value(f"image {image.ref}", json.dumps([config.get("Labels"), config.get("Env")]), values)


def test_our_containers_get_secrets_as_files_not_values(stack):
    """On compose our containers read secrets from /run/secrets files (no value in `docker inspect`); where the
    target can pass secrets only as environment variables (AWS: Lightsail env, ECS valueFrom), it says so."""
    values = secret_values(stack)
    env_only_target = stack.target == "aws-emulation"
    exposed = []
    for s in stack.topology.services:
        inspect = run(["docker", "inspect", stack.compose.container_id(s.name)]).stdout
        if s.secrets_as == "file" and not env_only_target:
            check_no_value(f"docker inspect {s.name}", inspect, values)
        elif s.secrets and any(v in inspect for v in values.values()):
            exposed.append(s.name)
    if exposed:
        # honest, not hidden
        why = ("the AWS shape injects secrets as environment variables at start (Lightsail environment, ECS valueFrom)"
               if env_only_target else "these upstream images read them from the environment only (secrets_as: env)")
        warnings.warn(f"secrets visible in docker inspect of {', '.join(exposed)}: {why}", stacklevel=1)
    allowed = ({s.name for s in stack.topology.services if s.secrets} if env_only_target
               else {s.name for s in stack.topology.services if s.secrets_as == "env"})
    assert set(exposed) <= allowed, f"undeclared exposure: {set(exposed) - allowed}"
