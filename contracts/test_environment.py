"""Environment contract: every app container has every required variable, and each points at a reachable service."""
from __future__ import annotations

import json
import re

import pytest

from harness.runtime.docker import run

pytestmark = [pytest.mark.control, pytest.mark.services("backend")]

CONTRACT = ("DATABASE_URL", "DATABASE_PASSWORD", "REDPANDA_BROKERS", "REDPANDA_SASL_USERNAME", "REDPANDA_SASL_PASSWORD",
            "REDPANDA_SASL_MECHANISM", "CLICKHOUSE_URL", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD",
            "CLICKHOUSE_DATABASE", "DRAGONFLY_HOST", "FRONTEND_URL", "BACKEND_URL", "MARKETING_URL",
            "FIREBASE_PROJECT", "FIRESTORE_EMULATOR_HOST", "FIREBASE_AUTH_EMULATOR_HOST")


def env_of(inspect: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in inspect["Config"]["Env"])


def check_contract_present(name: str, env: dict[str, str]) -> None:
    missing = [v for v in CONTRACT if not env.get(v) and not env.get(f"{v}_FILE")]
    assert not missing, f"{name} lacks {', '.join(missing)}"


def targets(env: dict[str, str]) -> list[tuple[str, str, int]]:
    """(variable, host, port) for every variable whose value names a host."""
    out = []
    for var, value in env.items():
        if var not in CONTRACT:
            continue
        m = re.match(r"^(?:[a-z]+://)?(?:[^@/]*@)?([A-Za-z0-9.-]+):(\d+)", value)
        if m:
            out.append((var, m[1], int(m[2])))
        elif var == "DRAGONFLY_HOST":
            out.append((var, value, 6379))
    return out


@pytest.fixture(scope="module")
def app_containers(stack):
    found = {}
    for s in stack.topology.services:
        if s.role == "app":
            found[s.name] = json.loads(run(["docker", "inspect", stack.compose.container_id(s.name)]).stdout)[0]
    return found


def test_every_app_container_has_every_contract_variable(app_containers):
    """Every app container receives every variable of the environment contract (secrets as VAR_FILE)."""
    for name, inspect in app_containers.items():
        check_contract_present(name, env_of(inspect))


def test_every_host_valued_variable_reaches_its_service_from_inside(app_containers):
    """Every host:port in the contract answers a TCP connection from inside each app container."""
    for name, inspect in app_containers.items():
        for var, host, port in targets(env_of(inspect)):
            if var == "MARKETING_URL":
                continue  # an external site, outside the topology
            probe = run(["docker", "exec", inspect["Id"], "python3", "-c",
                         "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)",
                         host, str(port)], check=False)
            assert probe.returncode == 0, f"{name}: {var} → {host}:{port} is unreachable: {probe.stderr[-200:]}"
