"""Local secret values: generated once into .topo/secrets/ (git-ignored), never written into rendered files.

Compose mounts each file at /run/secrets/NAME (read through VAR_FILE); images that only read VAR get it from
.topo/secrets.env, which `docker compose --env-file` interpolates at `up` time.
"""
from __future__ import annotations

import os
import secrets as pysecrets
from graphlib import TopologicalSorter
from pathlib import Path

from harness.model import TEMPLATE_REF, Topology
from harness.targets.compose import secret_env_var


def state_dir(root: Path) -> Path:
    return root / ".topo"


def generation_order(topology: Topology) -> list[str]:
    """Secret names, each after the secrets its template uses (A -> B -> C chains work at any depth).
    The loader refuses cycles and self-references; graphlib raises CycleError if one slipped through."""
    graph = {name: {ref for ref in sec.uses if ref in topology.secrets} for name, sec in topology.secrets.items()}
    return list(TopologicalSorter(graph).static_order())


def generate(topology: Topology, known: dict[str, str] | None = None) -> dict[str, str]:
    """Every secret's value: those in `known` kept, the others made — random, or from their template once the
    secrets it uses exist. In memory only (ensure() keeps them in files; harness.testing's containers do not)."""
    known = known or {}
    values: dict[str, str] = {}
    for name in generation_order(topology):
        sec = topology.secrets[name]
        if name in known:
            values[name] = known[name]
        elif sec.template:
            values[name] = TEMPLATE_REF.sub(
                lambda m: pysecrets.token_urlsafe(18) if m[1] == "random" else values[m[1]], sec.template)
        else:
            values[name] = pysecrets.token_urlsafe(18)
    return values


def ensure(topology: Topology, root: Path) -> dict[str, str]:
    """Create missing secret files; return every secret's value (for probes and bootstrap, never printed)."""
    folder = state_dir(root) / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    known = {name: (folder / name).read_text() for name in topology.secrets if (folder / name).exists()}
    values = generate(topology, known)
    for name, value in values.items():
        if name not in known:
            (folder / name).write_text(value)
    for name in values:
        # the app containers run as uid 10001 and read the bind-mounted file: it must be world-readable locally
        os.chmod(folder / name, 0o644)
    env_file = state_dir(root) / "secrets.env"
    env_file.write_text("".join(f"{secret_env_var(n)}={v}\n" for n, v in sorted(values.items())))
    os.chmod(env_file, 0o600)
    return values


def remove(root: Path) -> None:
    folder = state_dir(root) / "secrets"
    if folder.exists():
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    env_file = state_dir(root) / "secrets.env"
    if env_file.exists():
        env_file.unlink()
