"""Chaos as each host does it: a service's container is interrupted and replaced by a new one.

- `spot`: a Fargate Spot interruption (AWS) — SIGTERM, up to the task's stopTimeout (≤ 120 s), SIGKILL, and a
  replacement task. A service-managed EBS volume is replaced with the task (a fresh, empty volume); only a volume
  that survives (volume_lifecycle retained/snapshot/efs) comes back with the data.
- `redeploy`: a Railway redeploy — the old deployment gets SIGTERM, then SIGKILL after drainingSeconds (default
  0 s), and a service with a volume is stopped before the new deployment mounts it (no two deployments mount a
  volume at once); the volume is kept (docs/research/railway-facts.md, sections 5 and 6).

Each host chooses which one it applies (`Host.interrupt`); both return the same result fields.
"""
from __future__ import annotations

import time

from harness.errors import TopoError
from harness.runtime.docker import run


def spot(stack, service: str, on_event=lambda *a: None) -> dict:
    s = stack.topology.service(service)
    if s is None:
        raise TopoError(f"unknown service '{service}'")
    p = s.placement.get("aws")
    if p is None or p.kind != "fargate":
        raise TopoError(f"{service} is not a Fargate task (placement {p.kind if p else 'none'}): only Fargate "
                        "tasks get Spot interruptions")
    return replace(stack, service, min(p.stop_timeout_seconds, 120), p.volume_lifecycle,
                   "SIGTERM, then SIGKILL after {t} s (stopTimeout)", on_event)


def redeploy(stack, service: str, draining_seconds: int, on_event=lambda *a: None) -> dict:
    if stack.topology.service(service) is None:
        raise TopoError(f"unknown service '{service}'")
    return replace(stack, service, draining_seconds, "kept across deploys (Railway volume)",
                   "redeploy: SIGTERM, then SIGKILL after {t} s (drainingSeconds)", on_event)


def replace(stack, service: str, timeout: int, volume_lifecycle: str, how: str, on_event=lambda *a: None) -> dict:
    """Stop the service's container with `timeout` seconds between SIGTERM and SIGKILL, remove it, delete its
    volumes when `volume_lifecycle` is service-managed, and start a new one."""
    s = stack.topology.service(service)
    old = stack.compose.container_id(service)
    volumes = {v.name: _exists(f"{stack.project}_{v.name}") for v in s.volumes}
    t0 = time.monotonic()
    on_event(service, "interrupting", how.format(t=timeout))
    stack.compose("stop", "--timeout", str(timeout), service)
    stopped = time.monotonic() - t0
    exit_code = int(run(["docker", "inspect", "-f", "{{.State.ExitCode}}", old], check=False).stdout.strip() or -1)
    stack.compose("rm", "--force", "--stop", service)
    replaced = []
    if s.volumes and volume_lifecycle == "service-managed":
        for v in s.volumes:  # the task's EBS volume goes with it
            name = f"{stack.project}_{v.name}"
            if run(["docker", "volume", "rm", name], check=False).returncode == 0:
                replaced.append(v.name)
        on_event(service, "volume", f"service-managed EBS replaced: {', '.join(replaced)} (data lost)")
    else:
        on_event(service, "volume", f"kept ({volume_lifecycle})" if s.volumes else "no volume")
    stack.compose("up", "--detach", "--no-deps", service)
    waited = stack.wait_healthy(service, deadline=180)
    result = {"service": service, "stopped_in_s": round(stopped, 1), "replaced_volumes": replaced,
              "volume_lifecycle": volume_lifecycle, "back_in_s": round(time.monotonic() - t0, 1),
              "healthy_after_s": round(waited, 1), "stop_timeout_s": timeout, "exit_code": exit_code,
              "old_container": old, "new_container": stack.compose.container_id(service),
              # volume → (existed before, exists after); which ones were deleted with the task: replaced_volumes
              "volumes": {name: (before, _exists(f"{stack.project}_{name}")) for name, before in volumes.items()}}
    on_event(service, "replaced", f"new container healthy {result['back_in_s']} s after the interruption")
    return result


def _exists(volume: str) -> bool:
    # (not CreatedAt to tell a new volume from the old one: the local driver reports the ctime of the volume's
    # directory, which changes when the service writes into it)
    return run(["docker", "volume", "inspect", volume], check=False).returncode == 0
