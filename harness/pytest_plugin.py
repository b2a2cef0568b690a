"""pytest plugin (entry point `topo`): the topology brought up once per session for your own tests.

    def test_something(topo_environment):       # harness.testing.Environment; up once, always torn down
        topo_environment.kafka_producer().produce("frontend-events", ...)
        topo_environment.sign_in("tenant1").id_token

Four settings, each resolved option → environment → ini (and each also a fixture a conftest.py may override):
  --topo-file     TOPO_FILE      topo_file      the topology (default ./topology.yaml)
  --topo-target   TOPO_TARGET    topo_target    compose, aws-emulation, railway-emulation, … or endpoints:FILE
  --topo-services TOPO_SERVICES  topo_services  comma-separated subset, brought up with what it depends on
  --topo-profile  TOPO_PROFILE   topo_profile   one of the topology's `profiles:`
Each session's stack gets a unique compose project name and shifted published ports, so it never touches the
`make up` stack. --topo-keep leaves it running for debugging (and prints how to remove it). Fixtures:
`topo_environment`, `topo_endpoints` (Endpoints), `topo_stack` (control over containers).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("topo")
    group.addoption("--topo-file", default=None, help="topology.yaml to bring up (env TOPO_FILE, ini topo_file)")
    group.addoption("--topo-target", default=None,
                    help="host to bring it up on: compose, aws-emulation, railway-emulation, … or endpoints:FILE "
                         "(env TOPO_TARGET, ini topo_target; default compose)")
    group.addoption("--topo-services", default=None,
                    help="comma-separated services to bring up, with what they depend on (env TOPO_SERVICES, "
                         "ini topo_services; default all)")
    group.addoption("--topo-profile", default=None,
                    help="profile of the topology's `profiles:` to apply (env TOPO_PROFILE, ini topo_profile)")
    group.addoption("--topo-keep", action="store_true", help="do not tear the ephemeral stack down at the end")
    parser.addini("topo_file", "topology.yaml to bring up", default="topology.yaml")
    parser.addini("topo_target", "host the topology is brought up on (or endpoints:FILE)", default="compose")
    parser.addini("topo_services", "services to bring up (comma-separated; default all)", default="")
    parser.addini("topo_profile", "profile of the topology to apply", default="")


def setting(config: pytest.Config, name: str) -> tuple[str, str]:
    """(value, where it came from) of a topo setting: option --topo-NAME → environment TOPO_NAME → ini topo_NAME."""
    value = config.getoption(f"--topo-{name}")
    if value:
        return value, f"option --topo-{name}"
    if os.environ.get(f"TOPO_{name.upper()}"):
        return os.environ[f"TOPO_{name.upper()}"], f"environment TOPO_{name.upper()}"
    return config.getini(f"topo_{name}"), f"ini topo_{name}"


def _topology_path(config: pytest.Config) -> Path:
    return Path(setting(config, "file")[0])


def pytest_report_header(config: pytest.Config) -> str:
    parts = [f"{name} {setting(config, name)[0] or '-'} (from {setting(config, name)[1]})"
             for name in ("file", "target", "services", "profile")]
    return "topo: " + "; ".join(parts)


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


# ---- fixtures: the four settings are fixtures too, so a conftest.py can override any of them ------------------------
#
#     @pytest.fixture(scope="session")
#     def topo_services():                  # only the broker, the emulators and the worker under test
#         return ["telemetry-worker"]


@pytest.fixture(scope="session")
def topo_file(pytestconfig) -> Path:
    return _topology_path(pytestconfig).resolve()


@pytest.fixture(scope="session")
def topo_target(pytestconfig) -> str:
    return setting(pytestconfig, "target")[0]


@pytest.fixture(scope="session")
def topo_services(pytestconfig) -> list[str]:
    return [s.strip() for s in setting(pytestconfig, "services")[0].split(",") if s.strip()]


@pytest.fixture(scope="session")
def topo_profile(pytestconfig) -> str:
    return setting(pytestconfig, "profile")[0]


@pytest.fixture(scope="session")
def topo_environment(request, topo_file, topo_target, topo_services, topo_profile):
    """The topology brought up once per session (harness.testing.Environment); always torn down, with every
    service's logs kept in reports/logs/PROJECT/ when a test failed."""
    from harness.errors import TopoError
    from harness.testing import start

    try:
        env = start(topo_file, target=topo_target, services=topo_services, profile=topo_profile)
    except TopoError as exc:  # the user's setting or topology, or a service that did not come up: said, not traced
        pytest.fail(f"topo: {exc}", pytrace=False)
    try:
        yield env
    finally:
        env.close(failed=request.session.testsfailed > 0, keep=request.config.getoption("--topo-keep"))


@pytest.fixture(scope="session")
def topo_stack(topo_environment):
    """The running harness Stack (control over containers); skipped on an endpoints: target."""
    if topo_environment.stack is None:
        pytest.skip(f"{topo_environment.target} gives no control over containers")
    return topo_environment.stack


@pytest.fixture(scope="session")
def topo_endpoints(topo_environment) -> Endpoints:
    return topo_environment.endpoints
