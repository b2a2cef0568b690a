"""Where the contract suite's services are: chosen by --target (option → TOPO_TARGET → ini `topo_target`).

  compose          an ephemeral stack of the compose target (unique project, shifted ports, torn down after)
  aws-emulation    the same, shaped like AWS: Lightsail pod on localhost with one public endpoint, Fargate
                   limits and Service Connect names, an RDS-shaped endpoint, secrets as environment variables
  endpoints:FILE   an already running environment described by an endpoints file (JSON, one key per Endpoints
                   field; schema harness/schema/endpoints.schema.json, `topo schema endpoints`; passwords as
                   {"env": "VAR"} or {"file": "PATH"}; e.g. examples/endpoints-aws/, or `topo up` writes
                   .topo/endpoints.json for the local stack): contracts that need to control containers (pytest
                   mark `control`: faults, hardening, secrets in docker inspect, environment) are skipped there, so
                   such a run is PARTIAL:
                   the report says how many were skipped and why, and `topo gate` exits 1 unless --allow-partial
"""
from __future__ import annotations

import uuid
from pathlib import Path

from harness.errors import TopoError
from harness.pytest_plugin import Endpoints
from harness.targets import RUNNABLE



def endpoints_from_file(path: str) -> Endpoints:
    """Read an endpoints file (schema: `topo schema endpoints`); EndpointsError names file:line:col and the key."""
    from harness.endpoints import load

    return load(path)


def start(target: str, topology_path: Path, profile: str = ""):
    """Return (stack or None, Endpoints) for a target name; `profile` (topology.yaml `profiles:`) is applied to the
    stack brought up (not to an endpoints: file, whose environment is what it is)."""
    from harness.loader import load
    from harness.model import with_profile
    from harness.pytest_plugin import endpoints_of
    from harness.runtime.stack import Stack, free_port_offset

    if target.startswith("endpoints:"):
        return None, endpoints_from_file(target.split(":", 1)[1])
    if target not in RUNNABLE:
        raise TopoError(f"unknown --target {target!r}; use {', '.join(RUNNABLE)} or endpoints:FILE")
    topology = with_profile(load(topology_path)[0], profile)
    stack = Stack(topology, topology_path.parent, f"{topology.project}-gate-{uuid.uuid4().hex[:6]}",
                  free_port_offset(topology), ephemeral=True, target=target)
    try:
        stack.report = stack.up()
    except BaseException:
        stack.down(volumes=True)
        raise
    return stack, endpoints_of(stack)
