"""Distroless: the images the topology declares distroless carry only their runtime — no shell, no package manager.

The image's filesystem is read without running it: `docker create` (never started) + `docker export` streamed into
tarfile. The list of images comes from the topology (`images.NAME.distroless: true`), so an image that is not yet
distroless (the Firebase emulator: Java + Node + firebase-tools, shell wrappers) is not silently counted as one.
"""
from __future__ import annotations

import re
import subprocess
import tarfile

import pytest

from harness.testing import Image, Topology, run

pytestmark = [pytest.mark.control]

SHELLS = frozenset({"sh", "bash", "rbash", "dash", "ash", "zsh", "ksh", "ksh93", "mksh", "pdksh", "csh", "tcsh",
                    "yash", "fish", "busybox", "toybox"})
PACKAGE_MANAGERS = frozenset({"apt", "apt-get", "apt-cache", "apt-mark", "aptitude", "dpkg", "dpkg-deb", "dpkg-query",
                              "rpm", "yum", "dnf", "microdnf", "zypper", "apk", "easy_install", "conda", "mamba",
                              "npm", "npx", "yarn", "pnpm", "gem", "uv"})
PIP = re.compile(r"^pip[0-9.]*$|^pipx$")
# a Python that can bootstrap or run pip is a package manager too (`python -m pip`, `python -m ensurepip`)
PIP_MODULE = re.compile(r"(^|/)(site|dist)-packages/pip/__init__\.py$|(^|/)lib/python3[0-9.]*/ensurepip/__init__\.py$")
MIN_FILES = 100  # fewer than this and the export surely did not read the image


def _in_bin_dir(path: str) -> bool:
    parts = path.split("/")
    return len(parts) >= 2 and parts[-2] in ("bin", "sbin", "libexec")


def scan(members) -> dict:
    """Shells and package managers among tar members (names relative to the image root)."""
    shells, managers, files, entries = [], [], 0, 0
    for m in members:
        entries += 1
        name = m.name.removeprefix("./").lstrip("/")
        if m.isfile():
            files += 1
        if not (m.isfile() or m.issym() or m.islnk()):
            continue
        base = name.rsplit("/", 1)[-1]
        if _in_bin_dir(name) and base in SHELLS:
            shells.append(name)
        elif _in_bin_dir(name) and (base in PACKAGE_MANAGERS or PIP.match(base)):
            managers.append(name)
        elif PIP_MODULE.search(name):
            managers.append(name)
    return {"shells": sorted(shells), "package_managers": sorted(managers), "files": files, "entries": entries}


def export_members(image_ref: str):
    """Yield the tar members of the image's flattened filesystem; the container is created, never started."""
    cid = run(["docker", "create", "--entrypoint", "/topo-distroless-never-started", image_ref], timeout=60).stdout.strip()
    try:
        proc = subprocess.Popen(["docker", "export", cid], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        try:
            with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
                yield from tar
        finally:
            proc.stdout.close()
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            if proc.wait(timeout=120) != 0:
                raise RuntimeError(f"docker export {image_ref} failed: {err[-300:]}")
    finally:
        run(["docker", "rm", "-f", cid], check=False, timeout=60)


def check_distroless(image_ref: str) -> dict:
    """Fail, naming the image and the paths, if its filesystem has a shell or a package manager.
    Returns {image, files, entries, shells, package_managers} (the last two empty when it passes)."""
    found = {"image": image_ref, **scan(export_members(image_ref))}
    assert found["files"] >= MIN_FILES, (
        f"{image_ref}: only {found['files']} files exported (expected >= {MIN_FILES}); the export did not read the image")
    problems = []
    if found["shells"]:
        problems.append(f"shell(s): {', '.join(found['shells'])}")
    if found["package_managers"]:
        problems.append(f"package manager(s): {', '.join(found['package_managers'])}")
    assert not problems, (f"{image_ref} is not distroless ({found['files']} files inspected): "
                          + "; ".join(problems))
    return found


def declared_distroless(topology: Topology) -> list[Image]:
    return [i for i in topology.images.values() if i.distroless]


def test_declared_distroless_images_have_no_shell_and_no_package_manager(stack):
    """Every image the topology declares distroless has no shell (sh, bash, dash, ...) and no package manager (apt, dpkg, pip, ...)."""
    images = declared_distroless(stack.topology)
    assert images, "the topology declares no distroless image (images.NAME.distroless: true)"
    results = [check_distroless(i.ref) for i in images]
    files = sum(r["files"] for r in results)
    assert files >= MIN_FILES * len(results), f"only {files} files inspected in {len(results)} image(s)"
    print(f"distroless: {len(results)} image(s), {files} files inspected: "
          + ", ".join(f"{r['image']} ({r['files']} files)" for r in results))


def test_every_app_service_runs_a_distroless_image(stack):
    """Every app-role service runs an image the topology declares distroless (the platform invariant for app containers)."""
    missing = sorted({f"{s.name} ({s.image.name})" for s in stack.topology.services
                      if s.role == "app" and not s.image.distroless})
    assert not missing, f"app services on images not declared distroless: {', '.join(missing)}"
