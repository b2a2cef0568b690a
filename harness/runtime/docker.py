"""Commands are lists, never shell strings; a failed one raises CommandError carrying cmd, code, stdout, stderr."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import CommandError, TopoError


def run(cmd: list[str], *, check: bool = True, timeout: float | None = None, env: dict | None = None,
        cwd: Path | None = None, hint: str = "", input: str | None = None) -> subprocess.CompletedProcess:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, input=input)
    except FileNotFoundError:
        raise CommandError(cmd, 127, "", f"{cmd[0]}: not found", hint or "run `make provision` (or `topo doctor`)") from None
    except subprocess.TimeoutExpired as exc:
        raise CommandError(cmd, -1, str(exc.stdout or ""), f"timed out after {timeout} s", hint) from None
    if check and out.returncode != 0:
        raise CommandError(cmd, out.returncode, out.stdout, out.stderr, hint)
    return out


def docker_available() -> bool:
    return shutil.which("docker") is not None and run(["docker", "info"], check=False, timeout=20).returncode == 0


def build_client() -> str:
    """A docker client that can build with DOCKER_BUILDKIT=1 (the OS's 20.10 client has BuildKit built in;
    a newer client needs the buildx plugin). TOPO_DOCKER_BUILD_CLIENT overrides."""
    override = os.environ.get("TOPO_DOCKER_BUILD_CLIENT")
    if override:
        return override
    for candidate in ("/usr/bin/docker", shutil.which("docker") or "docker"):
        if Path(candidate).exists():
            probe = run([candidate, "buildx", "version"], check=False, timeout=20)
            if probe.returncode == 0 or candidate == "/usr/bin/docker":
                return candidate
    return shutil.which("docker") or "docker"


@dataclass
class Compose:
    """`docker compose -p PROJECT -f FILE ...` (v2 only)."""

    project: str
    files: list[Path]
    env_file: Path | None = None
    extra_env: dict = field(default_factory=dict)

    def base(self) -> list[str]:
        cmd = ["docker", "compose", "-p", self.project]
        for f in self.files:
            cmd += ["-f", str(f)]
        if self.env_file is not None and self.env_file.exists():
            cmd += ["--env-file", str(self.env_file)]
        return cmd

    def env(self) -> dict:
        return {**os.environ, **self.extra_env}

    def __call__(self, *args: str, check: bool = True, timeout: float | None = None, hint: str = "") -> subprocess.CompletedProcess:
        return run(self.base() + list(args), check=check, timeout=timeout, env=self.env(), hint=hint)

    def ps(self) -> list[dict]:
        import json

        out = self("ps", "--all", "--format", "json", check=False)
        rows = []
        for line in out.stdout.splitlines():
            line = line.strip()
            if not line:
                continue
            data = json.loads(line)
            rows.extend(data if isinstance(data, list) else [data])
        return rows

    def logs(self, service: str, tail: int = 30) -> str:
        out = self("logs", "--no-color", "--tail", str(tail), service, check=False)
        return (out.stdout + out.stderr).strip()

    def container_id(self, service: str) -> str:
        out = self("ps", "-q", service, check=False)
        return out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""


def compose_version() -> str:
    out = run(["docker", "compose", "version", "--short"], check=False, timeout=20)
    if out.returncode != 0:
        raise TopoError("Compose v2 is not available (`docker compose version` failed); run `make provision`")
    version = out.stdout.strip()
    if version.startswith(("1.", "v1")):
        raise TopoError(f"docker compose reports {version}; Compose v2 is required")
    return version


def compose_project(project: str, files: list[Path], env_file: Path | None = None, services: list[str] | None = None):
    """The lifecycle of one compose project (`up --detach`, `down --volumes`) on testcontainers' DockerCompose, with
    the project name its API lacks (`-p PROJECT` before the files). A failed command raises CommandError with its
    output instead of the library's bare CalledProcessError."""
    from testcontainers.compose import DockerCompose

    class ComposeProject(DockerCompose):
        @property
        def compose_command_property(self) -> list[str]:
            cmd = ["docker", "compose", "-p", project]
            for f in files:
                cmd += ["-f", str(f)]
            if env_file is not None and Path(env_file).exists():
                cmd += ["--env-file", str(env_file)]
            return cmd

        def _run_command(self, cmd, context=None):
            return _run_bytes(list(cmd), Path(context or self.context), self.hint)

    c = ComposeProject(context=str(files[0].parent), wait=False, services=services or None, keep_volumes=False)
    c.hint = "`topo logs SERVICE` shows why a container did not start"
    return c


def _run_bytes(cmd: list[str], cwd: Path, hint: str) -> subprocess.CompletedProcess:
    """run() for testcontainers, which reads stdout/stderr as bytes. COMPOSE_REMOVE_ORPHANS: `up` also removes the
    containers of services no longer in the file (as `--remove-orphans`)."""
    out = run(cmd, cwd=cwd, hint=hint, env={**os.environ, "COMPOSE_REMOVE_ORPHANS": "true"})
    return subprocess.CompletedProcess(out.args, out.returncode, out.stdout.encode(), out.stderr.encode())
