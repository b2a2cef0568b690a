"""Hardening: our containers run non-root, read-only, without capabilities; ports are declared and loopback-only."""
from __future__ import annotations

import json

import pytest

from harness.testing import run

pytestmark = pytest.mark.control


def inspect_all(stack) -> dict[str, dict]:
    return {s.name: json.loads(run(["docker", "inspect", stack.compose.container_id(s.name)]).stdout)[0]
            for s in stack.topology.services}


def check_hardened(name: str, c: dict) -> None:
    assert c["Config"]["User"] not in ("", "0", "root", "0:0"), f"{name} runs as root"
    assert c["HostConfig"]["ReadonlyRootfs"] is True, f"{name} has a writable root filesystem"
    assert c["HostConfig"]["CapDrop"] == ["ALL"] or c["HostConfig"]["CapDrop"] == ["all"], f"{name} keeps capabilities"
    assert not c["HostConfig"].get("CapAdd"), f"{name} adds capabilities {c['HostConfig']['CapAdd']}"
    assert "no-new-privileges:true" in (c["HostConfig"]["SecurityOpt"] or []), f"{name} may gain privileges"
    assert c["HostConfig"]["Privileged"] is False, f"{name} is privileged"


def process_uids(container_id: str) -> list[tuple[str, str, str, str]]:
    """(pid, real uid, effective uid, command) of every process in the container, read from the host (`docker top`):
    nothing runs inside it — a distroless image has no `id` to exec."""
    out = run(["docker", "top", container_id, "-o", "pid,ruid,euid,comm"]).stdout.splitlines()
    rows = [tuple(line.split(None, 3)) for line in out[1:] if line.strip()]
    assert rows, f"docker top {container_id} listed no process"
    return rows  # type: ignore[return-value]


def check_ports(name: str, c: dict, declared: set[int], local: bool = True) -> None:
    for port, bindings in (c["HostConfig"]["PortBindings"] or {}).items():
        assert int(port.split("/")[0]) in declared, f"{name} publishes undeclared port {port}"
        for b in bindings or []:
            assert not local or b["HostIp"] == "127.0.0.1", f"{name} publishes {port} on {b['HostIp'] or '0.0.0.0'}"


@pytest.mark.services("frontend", "backend")
def test_our_containers_run_non_root_read_only_without_capabilities(stack):
    """Every container of our images (app roles, the emulator) is non-root, read-only, cap_drop ALL, no-new-privileges."""
    containers = inspect_all(stack)
    hardened = [s for s in stack.topology.services if s.hardened]
    assert hardened, "the topology marks no service as ours (app or emulator roles): nothing to check"
    processes = 0
    for s in hardened:
        check_hardened(s.name, containers[s.name])
        for pid, ruid, euid, comm in process_uids(containers[s.name]["Id"]):
            assert "0" not in (ruid, euid), f"{s.name}'s process {comm} (pid {pid}) runs as root (uid {ruid}/{euid})"
            processes += 1
    print(f"checked: {len(hardened)} containers of our images, {processes} processes")  # shown in the report


def test_only_declared_ports_are_published_on_loopback(stack):
    """Only ports the topology declares as published are published, and only on 127.0.0.1."""
    containers = inspect_all(stack)
    assert len(containers) == len(stack.topology.services) > 0, "not every service has a container to inspect"
    bindings = 0
    for s in stack.topology.services:
        check_ports(s.name, containers[s.name], {p.port for p in s.ports if p.publish})
        bindings += sum(len(b or []) for b in (containers[s.name]["HostConfig"]["PortBindings"] or {}).values())
    assert bindings > 0, "no container publishes any port: the stack cannot be reached, nothing was checked"
    print(f"checked: {len(containers)} containers, {bindings} published port bindings")  # shown in the report
