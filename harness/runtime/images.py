"""Images: ours are built from their recipe folder; upstream ones are pulled — or, where no registry answers,
replaced by an offline stand-in built from OS packages and tagged with the upstream ref (so rendered files do
not change). Stand-ins carry the label org.topo.standin=true and are named as such everywhere.

A host CA bundle reaches builds as the BuildKit secret `cacert`; it is never copied into an image.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from harness.errors import CommandError, TopoError
from harness.model import Image, Topology
from harness.runtime.docker import build_client, run

CA_BUNDLE_DEFAULT = "/etc/ssl/certs/ca-certificates.crt"
STANDIN_LABEL = "org.topo.standin"


def ca_bundle() -> str | None:
    path = os.environ.get("TOPO_CA_BUNDLE", CA_BUNDLE_DEFAULT)
    return path if Path(path).is_file() else None


def inspect(ref: str) -> dict | None:
    out = run(["docker", "image", "inspect", ref], check=False, timeout=30)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout)[0]


def context_hash(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(str(path.relative_to(folder)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class ImageState:
    name: str
    ref: str
    origin: str  # ours | upstream | stand-in | missing
    present: bool
    size_mb: float
    note: str


def state(image: Image) -> ImageState:
    data = inspect(image.ref)
    if data is None:
        return ImageState(image.name, image.ref, "missing", False, 0.0,
                          "build it" if image.build else "pull it, or build its stand-in (--offline)")
    labels = data.get("Config", {}).get("Labels") or {}
    size = data.get("Size", 0) / 1e6
    if labels.get(STANDIN_LABEL) == "true":
        return ImageState(image.name, image.ref, "stand-in", True, size, labels.get("org.topo.standin.note", ""))
    return ImageState(image.name, image.ref, "ours" if image.build else "upstream", True, size,
                      f"context {labels.get('org.topo.context', '?')}" if image.build else "pulled")


def _stream(cmd: list[str], env: dict, on_line: Callable[[str], None], cwd: Path | None = None) -> None:
    lines: list[str] = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd)
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        lines.append(line)
        if line:
            on_line(line)
    if proc.wait() != 0:
        raise CommandError(cmd, proc.returncode, "\n".join(lines[-40:]), "",
                           "read the build output above; a proxy CA problem shows as a certificate error")


def build_ours(image: Image, root: Path, on_line: Callable[[str], None], rebuild: bool = False) -> str:
    folder = root / image.build
    if not folder.is_dir():
        raise TopoError(f"images.{image.name}.build: folder {image.build} does not exist")
    prepare = folder / "prepare-context.sh"
    if prepare.exists():
        _stream(["bash", str(prepare)], os.environ.copy(), on_line, cwd=root)
    context = root / image.context if image.context else folder
    digest = context_hash(folder) if context == folder else context_hash(folder)[:8] + context_hash(context)[:8]
    current = inspect(image.ref)
    if current and not rebuild and (current["Config"].get("Labels") or {}).get("org.topo.context") == digest:
        return "up to date"
    cmd = [build_client(), "build", "-t", image.ref, "--label", f"org.topo.context={digest}",
           "--label", f"org.topo.image={image.name}"]
    ca = ca_bundle()
    if ca:
        cmd += ["--secret", f"id=cacert,src={ca}"]
    cmd += ["-f", str(folder / "Dockerfile"), str(context)]
    _stream(cmd, {**os.environ, "DOCKER_BUILDKIT": "1", "BUILDKIT_PROGRESS": "plain"}, on_line)
    return "built"


def try_pull(ref: str, timeout: float) -> bool:
    try:
        return run(["docker", "pull", ref], check=False, timeout=timeout).returncode == 0
    except CommandError:
        return False


def pull_source(image: Image) -> str:
    """Where the upstream image is pulled from: `ref`, or REGISTRY/ref when the image names a registry variable
    (an image its vendor does not publish on Docker's default registry) and that variable is set."""
    registry = os.environ.get(image.registry_env, "").strip().rstrip("/") if image.registry_env else ""
    return f"{registry}/{image.ref}" if registry else image.ref


def pull(image: Image, timeout: float) -> bool:
    source = pull_source(image)
    if not try_pull(source, timeout):
        return False
    if source != image.ref:
        run(["docker", "tag", source, image.ref], timeout=30)
    return True


def standin_digest(image: Image, root: Path) -> str:
    """Digest of a stand-in's recipe folder: a stand-in built from an older recipe is rebuilt, never reused."""
    folder = root / image.standin
    return context_hash(folder) if folder.is_dir() else ""


def standin_stale(image: Image, root: Path) -> bool:
    data = inspect(image.ref)
    labels = (data or {}).get("Config", {}).get("Labels") or {}
    return labels.get(STANDIN_LABEL) == "true" and labels.get("org.topo.context") != standin_digest(image, root)


def standins(topology: Topology) -> list[ImageState]:
    """The topology's images that are offline stand-ins right now (named in `topo up`, `status`, the gate)."""
    return [st for st in (state(i) for i in topology.images.values() if not i.build) if st.origin == "stand-in"]


def standin_verdict(topology: Topology) -> str:
    """One line for headers: which verdicts rest on stand-ins instead of the upstream images."""
    found = standins(topology)
    if not found:
        return "verdict on upstream images: every upstream image is the real one"
    return ("verdict on stand-ins: " + ", ".join(f"{s.name} ({s.ref} is a STAND-IN: {s.note.split(';')[0]})" for s in found)
            + " — see `topo images ls --fidelity` for what each reproduces")


BASE_REF = "topo/base:bookworm"  # made by scripts/build-images.sh base (debootstrap + docker import; no registry)


def bases_of(dockerfile: Path) -> set[str]:
    """The refs a Dockerfile starts FROM (stage names excluded)."""
    refs: set[str] = set()
    stages: set[str] = set()
    for line in dockerfile.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].upper() == "FROM":
            ref = next((p for p in parts[1:] if not p.startswith("--")), "")
            if ref and ref not in stages:
                refs.add(ref)
            if len(parts) >= 4 and parts[-2].upper() == "AS":
                stages.add(parts[-1])
    return refs


def build_base(root: Path, on_line: Callable[[str], None]) -> str:
    """Create topo/base:bookworm (the caller found it missing): every recipe of ours and every stand-in starts FROM
    it, and no registry has it, so a fresh machine must make it before anything else."""
    _stream(["bash", str(root / "scripts" / "build-images.sh"), "base"], os.environ.copy(), on_line, cwd=root)
    if inspect(BASE_REF) is None:
        raise TopoError(f"scripts/build-images.sh base finished but {BASE_REF} is missing")
    return "built"


def build_standin(image: Image, root: Path, on_line: Callable[[str], None], rebuild: bool = False) -> str:
    script = root / "scripts" / "build-images.sh"
    cmd = ["bash", str(script), "--offline"] + (["--rebuild"] if rebuild else []) + [image.name]
    _stream(cmd, {**os.environ, "TOPO_STANDIN_REF": image.ref, "TOPO_STANDIN_CONTEXT": standin_digest(image, root)},
            on_line, cwd=root)
    return "stand-in built"


def ensure(topology: Topology, root: Path, offline: bool | None = None, rebuild: bool = False,
           only: list[str] | None = None, on_line: Callable[[str, str], None] = lambda n, l: None,
           on_done: Callable[[str, str, float], None] = lambda n, r, s: None) -> dict[str, str]:
    """Make every image of the topology present. offline=None: try one pull, go offline if it fails."""
    results: dict[str, str] = {}
    pull_timeout = float(os.environ.get("TOPO_PULL_TIMEOUT", "20"))
    images = [i for i in topology.images.values() if only is None or i.name in only]
    # Base first: a fresh machine has no images at all, and our recipes start FROM the base we make ourselves.
    needs_base = any(image.build and BASE_REF in bases_of(root / image.build / "Dockerfile") for image in images)
    if needs_base and inspect(BASE_REF) is None:
        start = time.monotonic()
        result = build_base(root, lambda text: on_line("base", text))
        results["base"] = result
        on_done("base", result, time.monotonic() - start)
    # ours first: the app image is what changes most
    for image in sorted(images, key=lambda i: (not i.build, i.name)):
        start = time.monotonic()
        line = lambda text, n=image.name: on_line(n, text)  # noqa: E731
        if image.build:
            result = build_ours(image, root, line, rebuild)
        else:
            current = state(image)
            rebuild_this = rebuild
            if current.origin == "stand-in" and image.standin and standin_stale(image, root):
                line("the stand-in was built from an older recipe: rebuilding it")
                rebuild_this = True
            if current.present and not rebuild_this and (current.origin != "stand-in" or offline is True):
                result = f"present ({current.origin})"
            else:
                # Never shadow silently: a stand-in carries the upstream tag, so while one is present a registry
                # that answers now gets the chance to replace it with the real image.
                result = ""
                if offline is not True:
                    where = pull_source(image)
                    line(f"trying docker pull {where} ({pull_timeout:.0f} s)")
                    if pull(image, pull_timeout):
                        result = "pulled" + (" (replaces the stand-in)" if current.origin == "stand-in" else "")
                    elif offline is False:
                        raise TopoError(f"docker pull {where} failed"
                                        + (f" ({image.pull_note})" if image.pull_note else "")
                                        + "; use `topo images build --offline` for stand-ins")
                    else:
                        line(f"no registry answered for {where}"
                             + (f" ({image.pull_note})" if image.pull_note else ""))
                if not result and current.origin == "stand-in" and not rebuild_this:
                    result = "present (stand-in: no registry answered)"
                elif not result:
                    if not image.standin:
                        raise TopoError(f"images.{image.name}: cannot pull {image.ref} and no `standin` recipe is declared")
                    result = build_standin(image, root, line, rebuild_this)
        results[image.name] = result
        on_done(image.name, result, time.monotonic() - start)
    return results
