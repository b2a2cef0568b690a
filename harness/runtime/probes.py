"""Readiness as wait strategies (testcontainers style): a probe checks once and raises when not ready;
`wait_for` retries it until a deadline, then raises ProbeTimeout carrying the state, last logs and a hint.

Each probe speaks the service's real protocol: Kafka metadata over SASL, ClickHouse `SELECT 1` over HTTP,
Postgres `SELECT 1`, Redis `PING`, a Firestore write + read, an Auth sign-up, an HTTP health endpoint.
"""
from __future__ import annotations

import time
import uuid
from functools import lru_cache
from dataclasses import dataclass
from typing import Callable, Protocol

import requests

from harness.errors import TopoError


class ProbeTimeout(TopoError):
    def __init__(self, service: str, seconds: float, last_error: str, state: str = "", logs: str = "", hint: str = ""):
        self.service, self.seconds, self.last_error, self.state, self.logs, self.hint = (
            service, seconds, last_error, state, logs, hint)
        text = f"{service} did not become ready within {seconds:.0f} s: {last_error}"
        if state:
            text += f"\n  container state: {state}"
        if logs:
            text += "\n  last log lines:\n" + "\n".join(f"    {line}" for line in logs.splitlines()[-15:])
        if hint:
            text += f"\n  hint: {hint}"
        super().__init__(text)


class Probe(Protocol):
    service: str
    what: str

    def check(self) -> str:
        """Return a short description of what answered; raise anything when not ready."""


@dataclass
class HttpProbe:
    service: str
    url: str
    what: str = "HTTP health"
    ok: tuple[int, ...] = (200,)

    def check(self) -> str:
        r = requests.get(self.url, timeout=3)
        if r.status_code not in self.ok:  # the body of a failing health endpoint usually says why
            raise RuntimeError(f"GET {self.url} answered {r.status_code}: {r.text.strip()[:400]}")
        return f"GET {self.url} → {r.status_code}"


@dataclass
class KafkaProbe:
    service: str
    bootstrap: str
    username: str
    password: str
    mechanism: str = "SCRAM-SHA-256"
    what: str = "Kafka metadata over SASL"

    def config(self) -> dict:
        return {"bootstrap.servers": self.bootstrap, "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": self.mechanism, "sasl.username": self.username, "sasl.password": self.password}

    def check(self) -> str:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({**self.config(), "socket.timeout.ms": 3000, "log_level": 0})
        md = admin.list_topics(timeout=4)
        if not md.brokers:
            raise RuntimeError("metadata lists no broker")
        return f"{len(md.brokers)} broker(s), {len(md.topics)} topic(s) as {self.username}"


@dataclass
class ClickHouseProbe:
    service: str
    url: str
    user: str
    password: str
    what: str = "ClickHouse SELECT 1 over HTTP"

    def check(self) -> str:
        r = requests.post(self.url, data="SELECT 1", auth=(self.user, self.password), timeout=3)
        if r.status_code != 200 or r.text.strip() != "1":
            raise RuntimeError(f"SELECT 1 answered {r.status_code}: {r.text.strip()[:200]}")
        return "SELECT 1 → 1"


@dataclass
class PostgresProbe:
    service: str
    dsn: str
    password: str
    what: str = "Postgres SELECT 1"

    def check(self) -> str:
        import psycopg

        with psycopg.connect(self.dsn, password=self.password, connect_timeout=3) as conn:
            value = conn.execute("SELECT 1").fetchone()[0]
        if value != 1:
            raise RuntimeError(f"SELECT 1 returned {value}")
        return "SELECT 1 → 1"


@dataclass
class RedisProbe:
    service: str
    host: str
    port: int
    what: str = "Redis PING"

    def check(self) -> str:
        import redis

        if not redis.Redis(host=self.host, port=self.port, socket_timeout=3).ping():
            raise RuntimeError("PING did not answer PONG")
        return "PING → PONG"


@dataclass
class FirestoreProbe:
    service: str
    host: str  # host:port
    project: str
    what: str = "Firestore write + read"

    def check(self) -> str:
        doc = f"topo-probe/{uuid.uuid4().hex}"
        base = f"http://{self.host}/v1/projects/{self.project}/databases/(default)/documents"
        headers = {"Authorization": "Bearer owner"}
        w = requests.patch(f"{base}/{doc}", json={"fields": {"ok": {"booleanValue": True}}}, headers=headers, timeout=3)
        w.raise_for_status()
        r = requests.get(f"{base}/{doc}", headers=headers, timeout=3)
        r.raise_for_status()
        if r.json()["fields"]["ok"]["booleanValue"] is not True:
            raise RuntimeError("read back a different document")
        requests.delete(f"{base}/{doc}", headers=headers, timeout=3)
        return "wrote and read a document"


@dataclass
class AuthProbe:
    service: str
    host: str
    what: str = "Auth sign-up"

    def check(self) -> str:
        r = requests.post(f"http://{self.host}/identitytoolkit.googleapis.com/v1/accounts:signUp?key=topo-probe",
                          json={"returnSecureToken": True}, timeout=3)
        r.raise_for_status()
        if not r.json().get("idToken"):
            raise RuntimeError("sign-up returned no ID token")
        return "anonymous sign-up returned an ID token"


@dataclass
class ContainerHealthProbe:
    """For services with no published port: the container's own healthcheck, as Docker reports it."""

    service: str
    container: Callable[[], str]
    what: str = "container healthcheck"

    def check(self) -> str:
        from harness.runtime.docker import run

        cid = self.container()
        if not cid:
            raise RuntimeError("no container")
        state = run(["docker", "inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}", cid],
                    check=False).stdout.strip()
        if not state.endswith("healthy") or state.endswith("unhealthy"):
            raise RuntimeError(f"container is {state or 'unknown'}")
        return state


def wait_for(probe: Probe, deadline_s: float, interval: float = 0.5,
             diagnose: Callable[[str], tuple[str, str]] | None = None, hint: str = "",
             abort: Callable[[], BaseException | None] = lambda: None) -> tuple[float, str]:
    """Retry probe.check() until it passes; return (seconds waited, what answered).
    `abort` lets the caller stop waiting early (e.g. `docker compose up` itself failed)."""
    start = time.monotonic()
    last = "not tried"
    while True:
        reason = abort()
        if reason is not None:
            raise reason
        try:
            return time.monotonic() - start, probe.check()
        except Exception as exc:  # noqa: BLE001 — any failure means "not ready yet"
            last = f"{type(exc).__name__}: {exc}".strip()[:300]
        if time.monotonic() - start >= deadline_s:
            state, logs = diagnose(probe.service) if diagnose else ("", "")
            raise ProbeTimeout(probe.service, deadline_s, last, state, logs, hint)
        time.sleep(interval)



@lru_cache(maxsize=1)
def _probe_wait_class():
    from testcontainers.core.waiting_utils import WaitStrategy  # imported on first use: it pulls in the docker SDK

    class ProbeWait(WaitStrategy):
        """A topo probe as a testcontainers wait strategy."""

        def __init__(self, probe: Probe, timeout: float, hint: str, abort: Callable[[], BaseException | None],
                     diagnose: Callable[[str], tuple[str, str]] | None):
            super().__init__()
            self.probe, self.hint, self.abort, self.diagnose = probe, hint, abort, diagnose
            self._startup_timeout = timeout
            self.waited, self.answered = 0.0, ""

        def wait_until_ready(self, container=None) -> None:
            def diagnose(_service: str) -> tuple[str, str]:
                try:
                    container.reload()
                    out, err = container.get_logs()
                    return str(getattr(container, "status", "")), (out + err).decode(errors="replace")[-3000:]
                except Exception as exc:  # noqa: BLE001 — the diagnosis must not hide the timeout
                    return f"unknown ({type(exc).__name__})", ""

            self.waited, self.answered = wait_for(self.probe, self._startup_timeout, diagnose=self.diagnose or (
                diagnose if container is not None else None), hint=self.hint, abort=self.abort)

    return ProbeWait


def probe_wait(probe: Probe, timeout: float = 240.0, hint: str = "",
               abort: Callable[[], BaseException | None] = lambda: None,
               diagnose: Callable[[str], tuple[str, str]] | None = None):
    """A probe as a testcontainers wait strategy (`DockerContainer.waiting_for(...)`, `DockerCompose.waiting_for`):
    `wait_until_ready(container)` retries the probe until `timeout`, then raises ProbeTimeout with the container's
    state and last log lines (or what `diagnose(service)` returns); afterwards `.waited` and `.answered` say how long
    it took and what answered."""
    return _probe_wait_class()(probe, timeout, hint, abort, diagnose)
