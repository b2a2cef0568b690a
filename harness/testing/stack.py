"""One running topology for tests: `environment()` (a context manager) and `start()` (explicit `close()`).

    from harness.testing import environment

    with environment("topology.yaml", target="compose", services=["telemetry-worker"]) as env:
        env.endpoints.kafka_bootstrap           # typed endpoints (Endpoints)
        env.kafka_producer().produce(...)       # clients with the topology's SASL settings
        env.sign_in("tenant1").id_token         # an Auth-emulator user with a tenant claim

Every stack is ephemeral: its own compose project, published ports shifted to a free range on 127.0.0.1, rendered
into .topo/stacks/PROJECT/ (never over a committed rendering), and always torn down with its volumes. When the
body raised (or `close(failed=True)`), every service's logs are kept in reports/logs/PROJECT/ first.

The lifecycle runs on testcontainers: `docker compose up --detach` / `down --volumes` through its DockerCompose
(harness.runtime.docker.compose_project), and readiness through topo's probes as testcontainers wait strategies
(harness.runtime.probes.probe_wait) — Kafka metadata over SASL, ClickHouse `SELECT 1`, Postgres, Redis `PING`, a
Firestore write + read, an Auth sign-up, each app's health endpoint. Why one compose project rather than a container
per service: a host's rendering *is* what is under test (aws-emulation's shared Lightsail network namespace and cgroup,
railway-emulation's private network and deploy gate exist only in its compose file). For a single service in
isolation, `container_for` (harness.testing.containers) builds it from the same topology.
"""
from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from harness.errors import TopoError
from harness.pytest_plugin import Endpoints, endpoints_of

Event = Callable[[str, str, str], None]


def kafka_config(endpoints: Endpoints, admin: bool = False, **extra) -> dict:
    """confluent-kafka settings for the broker of `endpoints` with the topology's SASL mechanism: the application
    user (least privilege: its topics and groups only) by default, the bootstrap superuser with admin=True."""
    from harness.runtime.probes import KafkaProbe

    e = endpoints
    user, password = (e.kafka_admin_user, e.kafka_admin_password) if admin else (e.kafka_app_user, e.kafka_app_password)
    return {**KafkaProbe("kafka", e.kafka_bootstrap, user, password, e.kafka_mechanism).config(), "log_level": 0,
            **extra}


@dataclass
class Environment:
    """A running topology (or an already deployed one, when `stack` is None) and clients for it."""

    endpoints: Endpoints | None  # None only while a stack is coming up
    target: str
    stack: object | None = None  # harness.runtime.stack.Stack: control over containers (faults, restarts, logs)
    topology: object | None = None  # harness.model.Topology as brought up (profile and service subset applied)
    seconds: dict = field(default_factory=dict)  # bring-up split (data_plane, bootstrap, healthy, total) + teardown
    logs_dir: Path | None = None  # where the logs were kept, after a failed close
    _closed: bool = False

    # ---- what a test reaches ---------------------------------------------------------------------------------

    @property
    def project(self) -> str:
        return self.stack.project if self.stack is not None else self.endpoints.project

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.topology.services) if self.topology is not None else ()

    def kafka_config(self, admin: bool = False, **extra) -> dict:
        """confluent-kafka settings with the topology's SASL mechanism (see kafka_config)."""
        return kafka_config(self.endpoints, admin, **extra)

    def kafka_producer(self, admin: bool = False, **extra):
        from confluent_kafka import Producer

        return Producer(self.kafka_config(admin, **{"enable.idempotence": True, **extra}))

    def kafka_consumer(self, group: str = "", admin: bool = False, **extra):
        """A consumer in its own group (a fresh one unless named), reading from the earliest offset."""
        from confluent_kafka import Consumer

        return Consumer(self.kafka_config(admin, **{"group.id": group or f"test-{uuid.uuid4().hex[:8]}",
                                                    "auto.offset.reset": "earliest", **extra}))

    def kafka_admin(self):
        from confluent_kafka.admin import AdminClient

        return AdminClient(self.kafka_config(admin=True))

    def sign_in(self, tenant: str):
        """A new Auth-emulator user whose ID token carries the custom claim tenant_id=tenant (FirebaseUser)."""
        from harness import clients

        return clients.sign_in(self.endpoints.auth_host, self.endpoints.firebase_project, tenant)

    def call(self, name: str, data, id_token: str | None = None):
        """Call a Firebase callable function (POST {"data": ...}); returns the requests.Response."""
        from harness import clients

        return clients.call(self.endpoints.functions_url, self.endpoints.firebase_project, name, data, id_token)

    def firestore_doc(self, path: str) -> dict | None:
        from harness import clients

        return clients.firestore_doc(self.endpoints.firestore_host, self.endpoints.firebase_project, path)

    def firestore(self):
        """A google-cloud-firestore client on the emulator (needs the `google-cloud-firestore` package)."""
        import os

        from google.cloud import firestore  # type: ignore[import-not-found]

        os.environ["FIRESTORE_EMULATOR_HOST"] = self.endpoints.firestore_host
        return firestore.Client(project=self.endpoints.firebase_project)

    def clickhouse(self, sql: str) -> list[dict]:
        """Rows of a ClickHouse query (JSONEachRow over HTTP) as the topology's ClickHouse user."""
        from harness import clients

        e = self.endpoints
        return clients.clickhouse(e.clickhouse_url, e.clickhouse_user, e.clickhouse_password, sql)

    def postgres(self):
        """A psycopg connection to the topology's database (autocommit)."""
        import psycopg

        return psycopg.connect(self.endpoints.postgres_dsn, password=self.endpoints.postgres_password,
                               autocommit=True, connect_timeout=10)

    def redis(self):
        import redis

        return redis.Redis(host=self.endpoints.redis_host, port=self.endpoints.redis_port, socket_timeout=10)

    # ---- lifecycle -------------------------------------------------------------------------------------------

    def up(self, deadline: float = 300.0, on_event: Event = lambda *a: None) -> "Environment":
        """Bring the stack up (idempotent: safe on a running one): probes, bootstrap, the host's health rules."""
        self.stack.report = self.stack.up(deadline=deadline, on_event=on_event)
        self.seconds.update(self.stack.report.seconds)
        return self.attach()

    def attach(self) -> "Environment":
        """Endpoints of a stack that already runs (brought up elsewhere with the same project and port offset)."""
        self.endpoints = endpoints_of(self.stack)
        return self

    def logs(self, service: str, tail: int = 200) -> str:
        if self.stack is None:
            raise TopoError(f"{self.target}: no container to read logs from (an already deployed environment)")
        return self.stack.compose.logs(service, tail=tail)

    def keep_logs(self, root: Path | None = None) -> Path | None:
        """Write every service's logs to reports/logs/PROJECT/SERVICE.log; return the folder."""
        if self.stack is None:
            return None
        folder = (root or self.stack.root) / "reports" / "logs" / self.project
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.services:
            (folder / f"{name}.log").write_text(self.stack.compose.logs(name, tail=2000) + "\n")
        self.logs_dir = folder
        return folder

    def close(self, failed: bool = False, keep: bool = False) -> None:
        """Tear the stack down with its volumes (logs kept first when `failed`); `keep` leaves it running and says
        how to remove it. Safe to call twice; never raises for a stack that is already gone."""
        if self._closed or self.stack is None:
            return
        self._closed = True
        stack = self.stack
        if failed:
            try:
                print(f"topo: logs of {self.project} kept in {self.keep_logs()}")
            except Exception as exc:  # noqa: BLE001 — keeping logs must not hide the test's own failure
                print(f"topo: could not keep the logs of {self.project}: {exc}")
        if keep:
            print(f"topo: kept stack {self.project}; remove it with "
                  f"`docker compose -p {self.project} -f {stack.compose_file} down --volumes`")
            return
        import shutil

        t0 = time.monotonic()
        try:
            stack.down(volumes=True)
        finally:
            shutil.rmtree(stack.compose_file.parent, ignore_errors=True)
            self.seconds["teardown"] = round(time.monotonic() - t0, 1)


def load_topology(path=Path("topology.yaml"), profile: str = "", services: Iterable[str] = ()):
    """The topology of a file (or an already loaded Topology) with a profile and a service subset applied
    (a bad file raises TopologyError naming file, line, column and key)."""
    from harness.loader import load
    from harness.model import Topology, with_profile, with_services

    topology = path if isinstance(path, Topology) else load(Path(path))[0]
    return with_services(with_profile(topology, profile), list(services))


def prepare(topology="topology.yaml", *, target: str = "compose", services: Iterable[str] = (),
            profile: str = "", project: str = "", port_offset: int | None = None) -> Environment:
    """An Environment not brought up yet (`topology`: a file, or a Topology already loaded and changed in code): its
    own project (or `project`), ports shifted to a free range (or by
    `port_offset`). Call `.up()` (or `.attach()` for a project that already runs) and, in the end, `.close()`."""
    from harness.runtime.stack import Stack, free_port_offset
    from harness.targets import RUNNABLE

    if target not in RUNNABLE:
        raise TopoError(f"unknown target {target!r}: use one of {', '.join(RUNNABLE)} or endpoints:FILE")
    t = load_topology(topology, profile, services)
    stack = Stack(t, Path(t.file).resolve().parent, project or f"{t.project}-{uuid.uuid4().hex[:6]}",
                  free_port_offset(t) if port_offset is None else port_offset, ephemeral=True, target=target)
    return Environment(endpoints=None, target=target, stack=stack, topology=t)


def start(topology: str | Path = "topology.yaml", *, target: str = "compose", services: Iterable[str] = (),
          profile: str = "", project: str = "", on_event: Event = lambda *a: None,
          deadline: float = 300.0) -> Environment:
    """Bring a topology up on a runnable host (see `topo targets`) or open an already deployed environment
    (`target="endpoints:FILE"`). `services` keeps only those and what they depend on; `profile` applies one of
    the topology's `profiles:`. The caller must `close()` the result; `environment()` does it for you. When the
    bring-up fails, the logs are kept and the stack is removed before the error is raised."""
    if target.startswith("endpoints:"):
        from harness.endpoints import load

        return Environment(load(target.split(":", 1)[1]), target)
    env = prepare(topology, target=target, services=services, profile=profile, project=project)
    try:
        return env.up(deadline=deadline, on_event=on_event)
    except BaseException:
        env.close(failed=True)
        raise


def attach(topology: str | Path = "topology.yaml", *, target: str = "compose", project: str) -> Environment:
    """An Environment for a stack that already runs (the caller decides whether to close it): an ephemeral one (its
    file under .topo/stacks/PROJECT/) or one brought up by `topo up -p PROJECT`. The ports are found from the running
    containers (an ephemeral stack shifts them). Raises TopoError when no such stack runs, or when it runs from
    another host's compose file (naming the host it runs on); the topology is read as written (no profile, every
    service)."""
    from harness.runtime.stack import Stack
    from harness.targets import RUNNABLE, host

    if target not in RUNNABLE:
        raise TopoError(f"unknown target {target!r}: use one of {', '.join(RUNNABLE)}")
    t = load_topology(topology)
    root = Path(t.file).resolve().parent
    files = running_compose_files(project)
    if not files:
        raise TopoError(f"no running stack {project!r}: bring it up with `topo up --target {target} -p {project}` "
                        "(or keep an ephemeral one with --keep) and name that project")
    ephemeral = root / ".topo" / "stacks" / project / f"{target}.yml"
    mine = ephemeral if ephemeral.exists() else root / host(target).file
    if mine.resolve() not in {Path(f).resolve() for f in files}:
        runs = sorted({Path(f).stem for f in files if not Path(f).name.startswith("override")})
        named = {Path(h.file).stem: n for n, h in ((n, host(n)) for n in RUNNABLE)}
        hosts = [named.get(r, r) for r in runs]
        raise TopoError(f"the stack {project!r} does not run {target}'s compose file ({mine}); it runs "
                        f"{', '.join(files)}" + (f": pass --target {hosts[0]}" if hosts else ""))
    probe = Stack(t, root, project, 0, ephemeral=ephemeral.exists(), target=target)
    env = prepare(t, target=target, project=project, port_offset=running_offset(probe))
    if not ephemeral.exists():  # a `topo up` stack: its committed file, not a file of its own
        env.stack = Stack(t, root, project, env.stack.port_offset, target=target)
    return env.attach()


def running_compose_files(project: str) -> list[str]:
    """The compose files the running containers of a project were started from (Compose's config_files label)."""
    from harness.runtime.docker import run

    out = run(["docker", "ps", "--filter", f"label=com.docker.compose.project={project}", "--format",
               '{{.Label "com.docker.compose.project.config_files"}}'], check=False).stdout or ""
    return sorted({f.strip() for line in out.splitlines() for f in line.split(",") if f.strip()})


def running_offset(stack) -> int:
    """How far a running stack's ports are shifted: a declared published port's published value minus its own."""
    declared = {(s.name, p.port) for s in stack.topology.services for p in s.ports if p.publish}
    for row in stack.compose.ps():
        for pub in row.get("Publishers") or []:
            if (row.get("Service"), pub.get("TargetPort")) in declared and pub.get("PublishedPort"):
                return int(pub["PublishedPort"]) - int(pub["TargetPort"])
    raise TopoError(f"{stack.project}: no running container publishes a declared port; is it running? "
                    f"`docker compose -p {stack.project} ps`")


@contextmanager
def environment(topology: str | Path = "topology.yaml", *, target: str = "compose", services: Iterable[str] = (),
                profile: str = "", keep: bool = False, on_event: Event = lambda *a: None) -> Iterator[Environment]:
    """`start()` as a context manager: torn down on exit, logs kept when the body raised."""
    env = start(topology, target=target, services=services, profile=profile, on_event=on_event)
    failed = False
    try:
        yield env
    except BaseException:
        failed = True
        raise
    finally:
        env.close(failed=failed, keep=keep)
