"""pytest plugin (entry point `topo`): ephemeral stacks and typed endpoints for tests and contract suites.

    def test_something(topo_endpoints):         # brings a stack up once per session, always tears it down
        KafkaProbe(..., topo_endpoints.kafka_bootstrap, ...)

The topology is chosen by option → environment → ini: --topo-file / TOPO_FILE / `topo_file` (default
./topology.yaml). Each session's stack gets a unique compose project name and shifted published ports, so it
never touches the `make up` stack. --topo-keep leaves it running for debugging (and prints how to remove it).
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("topo")
    group.addoption("--topo-file", default=None, help="topology.yaml to bring up (env TOPO_FILE, ini topo_file)")
    group.addoption("--topo-keep", action="store_true", help="do not tear the ephemeral stack down at the end")
    parser.addini("topo_file", "topology.yaml to bring up", default="topology.yaml")


def _topology_path(config: pytest.Config) -> Path:
    return Path(config.getoption("--topo-file") or os.environ.get("TOPO_FILE") or config.getini("topo_file"))


def pytest_report_header(config: pytest.Config) -> str:
    source = ("option" if config.getoption("--topo-file") else "environment" if os.environ.get("TOPO_FILE")
              else "ini/default")
    return f"topo: topology {_topology_path(config)} (from {source}); ephemeral compose stacks for docker tests"


@dataclass(frozen=True)
class Endpoints:
    """Everything a test needs to reach a running stack from the host (values, never printed)."""

    project: str
    port_offset: int
    kafka_bootstrap: str
    kafka_mechanism: str
    kafka_app_user: str
    kafka_app_password: str
    kafka_admin_user: str
    kafka_admin_password: str
    clickhouse_url: str
    clickhouse_user: str
    clickhouse_password: str
    postgres_dsn: str
    postgres_password: str
    redis_host: str
    redis_port: int
    firebase_project: str
    firestore_host: str
    auth_host: str
    functions_url: str
    backend_url: str
    frontend_url: str


def endpoints_of(stack) -> Endpoints:
    from harness.runtime.services import kind

    t, access = stack.topology, stack.access
    by_kind = {kind(s): s for s in t.services}
    app_user, app_pw = access.kafka_user(superuser=False)
    admin_user, admin_pw = access.kafka_user(superuser=True)
    ch, pg = by_kind.get("clickhouse"), by_kind.get("postgres")
    ch_probe = access.probes(ch, lambda: "")[0] if ch else None
    pg_probe = access.probes(pg, lambda: "")[0] if pg else None
    fb = by_kind.get("firebase")
    redis_svc = by_kind.get("redis")

    def url(service: str, port: str) -> str:
        s = t.service(service)
        hp = access.host_port(s, port) if s else None
        return f"http://127.0.0.1:{hp}" if hp else ""

    fb_env = dict(fb.env) if fb else {}
    return Endpoints(
        project=stack.project, port_offset=stack.port_offset,
        kafka_bootstrap=access.kafka_bootstrap(by_kind["kafka"]) if "kafka" in by_kind else "",
        kafka_mechanism=t.kafka_mechanism, kafka_app_user=app_user, kafka_app_password=app_pw,
        kafka_admin_user=admin_user, kafka_admin_password=admin_pw,
        clickhouse_url=ch_probe.url if ch_probe else "", clickhouse_user=ch_probe.user if ch_probe else "",
        clickhouse_password=ch_probe.password if ch_probe else "",
        postgres_dsn=pg_probe.dsn if pg_probe else "", postgres_password=pg_probe.password if pg_probe else "",
        redis_host="127.0.0.1",
        redis_port=(access.first_published(redis_svc).port + stack.port_offset
                    if redis_svc and access.first_published(redis_svc) else 0),
        firebase_project=fb_env.get("FIREBASE_PROJECT", ""),
        firestore_host=url("firebase", "firestore").removeprefix("http://"),
        auth_host=url("firebase", "auth").removeprefix("http://"),
        functions_url=url("firebase", "functions"),
        # where the backend is not published (aws-emulation: one public endpoint), its API is reached through
        # the public frontend, which proxies /api/*
        backend_url=url("backend", "http") or url("frontend", "http"), frontend_url=url("frontend", "http"),
    )


@pytest.fixture(scope="session")
def topo_stack(request: pytest.FixtureRequest):
    """An ephemeral stack of the topology: up (real probes + bootstrap) before, down with volumes after."""
    from harness.loader import load
    from harness.runtime.stack import Stack, free_port_offset

    path = _topology_path(request.config).resolve()
    topology, _ = load(path)
    project = f"{topology.project}-test-{uuid.uuid4().hex[:6]}"
    stack = Stack(topology, path.parent, project, free_port_offset(topology), ephemeral=True)
    events: list[str] = []
    try:
        stack.report = stack.up(on_event=lambda who, state, detail: events.append(f"{who} {state} {detail}"))
        yield stack
    finally:
        if request.config.getoption("--topo-keep"):
            print(f"\ntopo: kept stack {project}; remove it with "
                  f"`docker compose -p {project} -f {stack.compose_file} down --volumes`")
        else:
            try:
                stack.down(volumes=True)
            finally:
                import shutil

                shutil.rmtree(stack.compose_file.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def topo_endpoints(topo_stack) -> Endpoints:
    return endpoints_of(topo_stack)
