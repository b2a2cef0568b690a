"""A running stack of one topology: render → secrets → `docker compose up` → real probes → bootstrap → endpoints.

`Stack.up()` is idempotent (running it twice is harmless). `down()` keeps named volumes unless asked;
an ephemeral stack (tests) has its own project name and shifted published ports, so it never collides with
the `make up` stack on the same machine.
"""
from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from harness.errors import TopoError
from harness.model import Topology
from harness.render import write
from harness.runtime import bootstrap, secrets
from harness.runtime.docker import Compose, compose_project, compose_version, docker_available
from harness.runtime.probes import ProbeTimeout, probe_wait
from harness.runtime.services import Access, Endpoint

Event = Callable[[str, str, str], None]  # (service or phase, state, detail)


def free_port_offset(topology: Topology, tries: int = 50) -> int:
    """An offset under which every published port of the topology is free on 127.0.0.1."""
    import random

    ports = [p.port for s in topology.services for p in s.ports if p.publish]
    rng = random.Random()
    for _ in range(tries):
        offset = rng.randrange(20, 400) * 100
        if max(ports, default=0) + offset > 65000:
            continue
        if all(_free(p + offset) for p in ports):
            return offset
    raise TopoError("no free range of ports found on 127.0.0.1 for an ephemeral stack")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@dataclass
class UpReport:
    project: str
    seconds: dict[str, float] = field(default_factory=dict)
    answered: dict[str, list[str]] = field(default_factory=dict)
    bootstrap: list[str] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    host: dict = field(default_factory=dict)  # what the host's hooks reported (e.g. lightsail sizing, deployment)


@dataclass
class Stack:
    topology: Topology
    root: Path
    project: str = ""
    port_offset: int = 0
    ephemeral: bool = False
    target: str = "compose"  # a runnable host's name (harness.targets.RUNNABLE)

    def __post_init__(self) -> None:
        from harness.targets import host

        self.host_class = host(self.target)  # TopoError naming the runnable hosts when it is not one
        self.project = self.project or self.host_class().default_project(self.topology)
        if self.ephemeral or self.topology.profile or self.topology.subset:
            # its own file: an ephemeral stack shifts ports, a profiled one differs by declared values; neither may
            # overwrite the committed rendering that `topo render --check` holds to topology.yaml
            self.compose_file = self.root / ".topo" / "stacks" / self.project / f"{self.target}.yml"
        else:
            self.compose_file = self.root / self.host_class.file
        self.host = self.host_class.for_stack(self)
        self._secrets: dict[str, str] | None = None

    # ---- pieces ----------------------------------------------------------------------------------------------

    @property
    def compose(self) -> Compose:
        return Compose(self.project, [self.compose_file], self.root / ".topo" / "secrets.env")

    @property
    def lifecycle(self):
        """`up --detach` / `down --volumes` of this project on testcontainers' DockerCompose."""
        return compose_project(self.project, [self.compose_file], self.root / ".topo" / "secrets.env")

    @property
    def secrets(self) -> dict[str, str]:
        if self._secrets is None:
            self._secrets = secrets.ensure(self.topology, self.root)
        return self._secrets

    @property
    def access(self) -> Access:
        return Access(self.topology, self.secrets, self.port_offset, self.host)

    def render(self) -> list[str]:
        return write([self.host.render(self.topology)], self.root)

    def session_facts(self) -> dict:
        """Host-specific figures for a contract session's report (e.g. the Lightsail group's peak memory)."""
        return self.host.session_facts(self)

    def diagnose(self, service: str) -> tuple[str, str]:
        rows = [r for r in self.compose.ps() if r.get("Service") == service]
        state = (f"{rows[0].get('State')} {rows[0].get('Health') or ''} ({rows[0].get('Status')})".strip()
                 if rows else "no container")
        return state, self.compose.logs(service, tail=20)

    # ---- lifecycle -------------------------------------------------------------------------------------------

    def up(self, deadline: float = 240.0, on_event: Event = lambda *a: None, do_bootstrap: bool = True) -> UpReport:
        if not docker_available():
            raise TopoError("no Docker engine answers `docker info`; run `make provision` (or `topo doctor`)")
        compose_version()
        report = UpReport(self.project)
        start = time.monotonic()
        _ = self.secrets
        for path in self.render():
            on_event("render", "wrote", path)
        report.host.update(self.host.before_up(self, on_event) or {})
        on_event("compose", "starting", f"docker compose -p {self.project} up -d")
        failure: list[BaseException] = []

        def compose_up() -> None:
            try:
                self.lifecycle.start()
            except BaseException as exc:  # noqa: BLE001 — reported after the probes
                failure.append(self.host.explain_up_failure(self, exc))  # e.g. Railway's failed pre-deploy

        thread = threading.Thread(target=compose_up, daemon=True)
        thread.start()
        access = self.access

        def one(name: str, probe, budget: float) -> tuple[str, float, str]:
            on_event(name, "waiting", probe.what)
            hint = {"firebase": "the Auth emulator needs ≈ 20 s; check `topo logs firebase`"}.get(name, f"`topo logs {name}`")
            strategy = probe_wait(probe, budget, hint, abort=lambda: failure[0] if failure else None,
                                  diagnose=self.diagnose)
            strategy.wait_until_ready()
            on_event(name, "ready", f"{probe.what}: {strategy.answered} ({strategy.waited:.1f} s)")
            return name, strategy.waited, f"{probe.what}: {strategy.answered}"

        def wait_all(services) -> None:
            checks = [(s.name, p) for s in services for p in access.probes(s, lambda n=s.name: self.compose.container_id(n))]
            budget = deadline - (time.monotonic() - start)
            errors: list[ProbeTimeout] = []
            with ThreadPoolExecutor(max_workers=max(1, len(checks))) as pool:
                for fut in as_completed([pool.submit(one, n, p, budget) for n, p in checks]):
                    try:
                        name, waited, detail = fut.result()
                        report.seconds[name] = round(time.monotonic() - start, 2)
                        report.answered.setdefault(name, []).append(detail)
                    except ProbeTimeout as exc:
                        errors.append(exc)
                    except TopoError:
                        pass  # `compose up` failed: reported once below
            if failure:
                raise failure[0]
            if errors:
                raise TopoError("\n\n".join(str(e) for e in errors))

        # Data plane first; the app containers keep retrying until bootstrap has made their users and schemas.
        wait_all([s for s in self.topology.services if s.role != "app"])
        report.seconds["data_plane"] = round(time.monotonic() - start, 2)
        if do_bootstrap:
            b0 = time.monotonic()
            bootstrap.run_all(access, self.root, lambda line: (report.bootstrap.append(line), on_event("bootstrap", "done", line)))
            report.seconds["bootstrap"] = round(time.monotonic() - b0, 2)
        wait_all([s for s in self.topology.services if s.role == "app"])
        thread.join(timeout=max(5.0, deadline - (time.monotonic() - start)))
        if failure:
            raise failure[0]
        report.seconds["healthy"] = round(time.monotonic() - start, 2)
        report.host.update(self.host.after_healthy(self, on_event) or {})
        report.endpoints = [e for s in self.topology.services for e in access.endpoints(s)]
        report.seconds["total"] = round(time.monotonic() - start, 2)
        return report

    # ---- control (fault contracts, chaos) ---------------------------------------------------------------------

    def bootstrap(self, *steps: str, say: Callable[[str], None] = lambda line: None) -> None:
        """Run bootstrap steps again (`kafka`: SASL users, ACLs, topics; `sql`; `firebase`), e.g. after the broker
        lost its volume. Idempotent."""
        run = {"kafka": lambda: bootstrap.kafka(self.access, say), "sql": lambda: bootstrap.sql(self.access, self.root, say),
               "firebase": lambda: bootstrap.firebase(self.access, say)}
        for step in steps:
            if step not in run:
                raise TopoError(f"no bootstrap step {step!r}: use {', '.join(run)}")
            run[step]()

    @property
    def override_file(self) -> Path:
        return self.root / ".topo" / "stacks" / self.project / "override.yml"

    def set_env(self, service: str, env: dict[str, str], deadline: float = 120.0) -> None:
        """Recreate one service with extra environment (e.g. DEML_FAULTS) and wait until it is healthy again.
        An empty dict restores the rendered environment."""
        import yaml

        overrides = yaml.safe_load(self.override_file.read_text()) if self.override_file.exists() else {"services": {}}
        if env:
            overrides["services"][service] = {"environment": dict(env)}
        else:
            overrides["services"].pop(service, None)
        self.override_file.parent.mkdir(parents=True, exist_ok=True)
        self.override_file.write_text(yaml.safe_dump(overrides))
        files = [self.compose_file] + ([self.override_file] if overrides["services"] else [])
        compose = Compose(self.project, files, self.root / ".topo" / "secrets.env")
        compose("up", "-d", "--no-deps", "--force-recreate", service, hint=f"`topo logs {service}`")
        self.wait_healthy(service, deadline)

    def wait_healthy(self, service: str, deadline: float = 120.0) -> float:
        svc = self.topology.service(service)
        waited = 0.0
        for probe in self.access.probes(svc, lambda: self.compose.container_id(service)):
            strategy = probe_wait(probe, deadline, f"`topo logs {service}`", diagnose=self.diagnose)
            strategy.wait_until_ready()
            waited = max(waited, strategy.waited)
        return waited

    def signal(self, service: str, sig: str = "KILL") -> None:
        from harness.runtime.docker import run

        run(["docker", "kill", "--signal", sig, self.compose.container_id(service)])

    def restart(self, service: str, timeout: int = 20) -> None:
        self.compose("restart", "--timeout", str(timeout), service)

    def interrupt(self, service: str, on_event: Event = lambda *a: None) -> dict:
        """Interrupt and replace one service as the host does (AWS: Fargate Spot; Railway: a redeploy)."""
        return self.host.interrupt(self, service, on_event)

    def restart_count(self, service: str) -> int:
        from harness.runtime.docker import run

        cid = self.compose.container_id(service)
        return int(run(["docker", "inspect", "-f", "{{.RestartCount}}", cid]).stdout.strip() or 0)

    def down(self, volumes: bool = False) -> None:
        if not self.compose_file.exists():
            self.render()
        if volumes:
            self.lifecycle.stop(down=True)  # `down --volumes`
        else:
            self.compose("down", "--remove-orphans", "--timeout", "20", hint="is the Docker engine running? `topo doctor`")
        self.host.after_down(self)
        if volumes and not self.ephemeral:
            secrets.remove(self.root)

    def status(self) -> list[dict]:
        rows = {r.get("Service"): r for r in self.compose.ps()}
        out = []
        for s in self.topology.services:
            r = rows.get(s.name)
            out.append({"service": s.name, "state": r.get("State") if r else "absent",
                        "health": (r.get("Health") or "-") if r else "-", "status": r.get("Status") if r else "",
                        "ports": ", ".join(f"127.0.0.1:{p.port + self.port_offset}" for p in s.ports if p.publish)})
        return out
