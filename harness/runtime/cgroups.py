"""The Lightsail node's power as one parent cgroup: every container of the Lightsail service runs inside it, so
they share the power's CPU and memory the way containers share a Lightsail node (cgroup v1 or v2, as root)."""
from __future__ import annotations

from pathlib import Path

from harness.errors import TopoError

ROOT = Path("/sys/fs/cgroup")


def _v2() -> bool:
    return (ROOT / "cgroup.controllers").exists()


def ensure(parent: str, vcpu: float, memory_mib: int) -> dict:
    """Create (or resize) the parent cgroup `parent` (an absolute cgroup path) with the power's limits."""
    name = parent.strip("/")
    quota, period = int(vcpu * 100_000), 100_000
    limit = memory_mib * 1024 * 1024
    try:
        if _v2():
            path = ROOT / name
            path.mkdir(exist_ok=True)
            sub = (ROOT / "cgroup.subtree_control")
            for ctrl in ("cpu", "memory"):
                if ctrl not in sub.read_text().split():
                    sub.write_text(f"+{ctrl}")
            (path / "cpu.max").write_text(f"{quota} {period}")
            (path / "memory.max").write_text(str(limit))
            if (path / "memory.swap.max").exists():
                (path / "memory.swap.max").write_text("0")
        else:
            for ctrl, values in (("cpu", {"cpu.cfs_period_us": period, "cpu.cfs_quota_us": quota}),
                                 ("memory", {"memory.limit_in_bytes": limit})):
                path = ROOT / ctrl / name
                path.mkdir(exist_ok=True)
                for f, v in values.items():
                    (path / f).write_text(str(v))
    except OSError as exc:
        raise TopoError(f"cannot size the Lightsail cgroup {parent} ({exc.strerror}: {exc.filename}); the aws-emulation "
                        "target needs root on Linux to share the power between the Lightsail containers") from None
    return {"cgroup": parent, "vcpu": vcpu, "memory_mib": memory_mib, "version": 2 if _v2() else 1}


def peak_memory_mib(parent: str) -> float | None:
    """Highest memory use of the group since it was created (None where the kernel does not say)."""
    name = parent.strip("/")
    for f in ((ROOT / name / "memory.peak") if _v2() else (ROOT / "memory" / name / "memory.max_usage_in_bytes"),):
        try:
            return int(f.read_text().strip()) / (1024 * 1024)
        except (OSError, ValueError):
            return None
    return None


def remove(parent: str) -> None:
    """Remove the (empty) parent cgroup after the stack is down."""
    name = parent.strip("/")
    paths = [ROOT / name] if _v2() else [ROOT / ctrl / name for ctrl in ("cpu", "memory")]
    for path in paths:
        try:
            path.rmdir()
        except OSError:
            pass
