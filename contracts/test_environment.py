"""Environment contract: every app container has every required variable, and each points at a reachable service."""
from __future__ import annotations

import json
import re

import pytest

from harness.testing import resolve, run

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


EXTERNAL = ("MARKETING_URL",)  # an external site, outside the topology: not probed


def expected_targets(topology) -> dict[str, set[str]]:
    """Per app service, the contract variables whose value in topology.yaml names a host:port (through a ${svc...}
    reference, resolved here with the service's name, or written literally): each must come out of the container
    as a host:port that is probed."""
    return {s.name: {var for var, _h, _p in targets({var: resolve(topology, value, lambda svc: svc.name)
                                                     for var, value in s.env}) if var not in EXTERNAL}
            for s in topology.services if s.role == "app"}


def check_all_app_containers(topology, app_containers: dict) -> int:
    """Every app service of the topology was inspected (and there is at least one); return how many."""
    declared = sorted(s.name for s in topology.services if s.role == "app")
    assert declared, "the topology declares no app service: the environment contract checked nothing"
    assert sorted(app_containers) == declared, (f"inspected app containers {sorted(app_containers)} "
                                                f"≠ the topology's app services {declared}")
    return len(declared)


def check_targets_found(topology, name: str, env: dict[str, str]) -> list[tuple[str, str, int]]:
    """The host:port targets found in a container's env, minus external ones; exactly the variables the topology
    declares with a service reference (a missing or unparsable one would otherwise be silently not probed)."""
    found = [t for t in targets(env) if t[0] not in EXTERNAL]
    expected = expected_targets(topology).get(name, set())
    assert expected, f"{name}: the topology declares no host-valued contract variable: nothing to probe"
    assert {var for var, _h, _p in found} == expected, (
        f"{name}: host:port found in {sorted(var for var, _h, _p in found)}, but topology.yaml declares "
        f"one in {sorted(expected)}")
    return found


@pytest.fixture(scope="module")
def app_containers(stack):
    found = {}
    for s in stack.topology.services:
        if s.role == "app":
            found[s.name] = json.loads(run(["docker", "inspect", stack.compose.container_id(s.name)]).stdout)[0]
    return found


def test_every_app_container_has_every_contract_variable(stack, app_containers):
    """Every app container receives every variable of the environment contract (secrets as VAR_FILE)."""
    checked = check_all_app_containers(stack.topology, app_containers)
    for name, inspect in app_containers.items():
        check_contract_present(name, env_of(inspect))
    print(f"checked: {checked} app containers × {len(CONTRACT)} variables")  # shown in the contract report


def test_every_host_valued_variable_reaches_its_service_from_inside(stack, app_containers):
    """Every host:port in the contract answers a TCP connection from inside each app container."""
    containers = check_all_app_containers(stack.topology, app_containers)
    probed = 0
    for name, inspect in app_containers.items():
        for var, host, port in check_targets_found(stack.topology, name, env_of(inspect)):
            probed += 1
            probe = run(["docker", "exec", inspect["Id"], "python3", "-c",
                         "import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 3)",
                         host, str(port)], check=False)
            assert probe.returncode == 0, f"{name}: {var} → {host}:{port} is unreachable: {probe.stderr[-200:]}"
    declared = sum(len(v) for v in expected_targets(stack.topology).values())
    assert probed == declared > 0, f"probed {probed} host:port targets, the topology declares {declared}"
    print(f"checked: {probed} host:port targets in {containers} app containers")  # shown in the contract report
