"""harness.testing.containers: one service of the topology as a testcontainers container.

The unit tests read the configuration a container is created with (no Docker); the `docker` tests start each kind
of container — broker, emulator, Postgres, ClickHouse, Dragonfly, an app role — and check something real through it.
Every container is removed by its context manager; no registry is needed (the images are the topology's refs).
"""
from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest

from harness.errors import TopoError
from harness.loader import load
from harness.runtime import secrets as secrets_mod
from harness.testing.containers import container_for, spec_for, started

ROOT = Path(__file__).resolve().parents[1]
TOPOLOGY = ROOT / "topology.yaml"


@pytest.fixture(scope="module")
def topology():
    return load(TOPOLOGY)[0]


# ---- configuration (no Docker) ---------------------------------------------------------------------------------

def test_app_env_resolves_references_to_service_names_and_carries_secrets(topology):
    spec = spec_for(topology, "telemetry-worker", port_offset=100)
    assert spec.image == topology.images["app"].ref
    assert spec.command == ("deml", "telemetry-worker", "--port", "8082")
    assert spec.env["REDPANDA_BROKERS"] == "redpanda:9092"
    assert spec.env["FIRESTORE_EMULATOR_HOST"] == "firebase:8080"
    assert spec.env["CLICKHOUSE_URL"] == "http://clickhouse:8123"
    assert not any("${" in v for v in spec.env.values())
    # secrets as values (generated once per topology), never as *_FILE paths into a host folder
    assert spec.env["REDPANDA_SASL_PASSWORD"] == spec.secrets["redpanda-app-password"]
    assert not any(k.endswith("_FILE") for k in spec.env)


def test_containers_of_one_topology_share_generated_secrets(topology):
    broker = spec_for(topology, "redpanda", port_offset=100)
    app = spec_for(topology, "telemetry-worker", port_offset=200)
    fb = spec_for(TOPOLOGY, "firebase", port_offset=300)  # a path, loaded again: the same values
    admin = broker.secrets["redpanda-admin-password"]
    assert broker.env["RP_BOOTSTRAP_USER"] == f"admin:{admin}:SCRAM-SHA-256"
    assert app.env["REDPANDA_SASL_PASSWORD"] == fb.env["REDPANDA_SASL_PASSWORD"] == broker.secrets["redpanda-app-password"]
    assert len(set(broker.secrets.values())) == len(broker.secrets)


def test_published_ports_bound_to_loopback_and_the_broker_advertises_that_port(topology):
    spec = spec_for(topology, "redpanda", port_offset=1000)
    assert spec.ports == {"19092/tcp": ("127.0.0.1", 20092)}  # kafka (9092) and admin (9644) are not published
    advertise = next(c for c in spec.command if c.startswith("--advertise-kafka-addr="))
    assert advertise == "--advertise-kafka-addr=internal://redpanda:9092,external://127.0.0.1:20092"
    for name in ("firebase", "postgres", "clickhouse", "dragonfly", "backend", "telemetry-worker"):
        s = spec_for(topology, name, port_offset=1000)
        published = {p.port for p in topology.service(name).ports if p.publish}
        assert {int(k.split("/")[0]) for k in s.ports} == published, name
        assert all(ip == "127.0.0.1" for ip, _port in s.ports.values()), name


def test_hardening_as_the_compose_target_applies_it(topology):
    app = spec_for(topology, "telemetry-worker", port_offset=0)
    assert app.options["user"] == "10001:10001"
    assert app.options["read_only"] is True and app.options["cap_drop"] == ["ALL"]
    assert app.tmpfs == {"/tmp": "uid=10001,gid=10001,mode=1777"}
    assert app.options["security_opt"] == ["no-new-privileges:true"]
    pg = spec_for(topology, "postgres", port_offset=0)  # upstream image: keeps its own user, no read-only root
    assert "user" not in pg.options and "read_only" not in pg.options and pg.tmpfs == {}
    assert pg.options["security_opt"] == ["no-new-privileges:true"]


def test_healthcheck_in_docker_api_form(topology):
    ch = spec_for(topology, "clickhouse", port_offset=0).options["healthcheck"]
    assert ch["test"][0] == "CMD-SHELL" and "$(hostname)" in ch["test"][1] and "$$" not in ch["test"][1]
    assert ch["interval"] == 5_000_000_000 and ch["timeout"] == 3_000_000_000
    app = spec_for(topology, "backend", port_offset=0).options["healthcheck"]
    assert app["test"][-1] == "http://127.0.0.1:8000/healthz"


def test_unknown_service_is_a_topo_error_naming_the_services(topology):
    with pytest.raises(TopoError) as err:
        container_for(topology, "redpnada")
    text = str(err.value)
    assert "no service 'redpnada'" in text and "did you mean 'redpanda'?" in text
    assert "telemetry-worker" in text and "postgres" in text


def test_missing_secret_value_is_a_topo_error(topology):
    with pytest.raises(TopoError, match="redpanda-app-password"):
        spec_for(topology, "telemetry-worker", secrets={"postgres-password": "x"}, port_offset=0)


def test_secrets_generate_keeps_known_values_and_fills_templates(topology):
    values = secrets_mod.generate(topology, {"redpanda-admin-password": "given"})
    assert values["redpanda-admin-password"] == "given"
    assert values["redpanda-bootstrap-user"] == "admin:given:SCRAM-SHA-256"
    assert set(values) == set(topology.secrets)


def test_started_removes_every_container_when_one_fails_to_start():
    class Fake:
        def __init__(self, fail: bool):
            self.fail, self.stopped = fail, 0

        def start(self):
            if self.fail:
                raise TopoError("did not become ready")

        def stop(self):
            self.stopped += 1

    good, bad = Fake(False), Fake(True)
    with pytest.raises(TopoError, match="did not become ready"):
        with started(good, bad):
            pytest.fail("the block must not run when a container failed to start")
    assert good.stopped == 1 and bad.stopped == 1
    ok = Fake(False)
    with started(ok) as (c,):
        assert c is ok and ok.stopped == 0
    assert ok.stopped == 1


# ---- each kind of container, started ------------------------------------------------------------------------------

def _started(container):
    print(f"\n{container.service.name} ({type(container).__name__}) started: {container.start_seconds} s")
    return container


@pytest.mark.docker
def test_redpanda_sasl_container_enforces_the_topology_users_and_acls(topology):
    from confluent_kafka import KafkaError, Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    with container_for(topology, "redpanda") as broker:
        _started(broker)
        assert type(broker).__name__ == "RedpandaSaslContainer"
        # a wrong password is refused: librdkafka reports the SASL failure through error_cb, the message is not sent
        errors, delivered = [], []
        wrong = Producer(broker.client_config(user="deml-app", password="not-the-password",
                                              error_cb=errors.append, **{"message.timeout.ms": 8000}))
        wrong.produce("frontend-events", b"{}", on_delivery=lambda err, msg: delivered.append(err))
        wrong.flush(15)
        assert delivered and delivered[0] is not None, delivered
        assert any(e.code() == KafkaError._AUTHENTICATION for e in errors), errors
        # the topics, with their partitions, as the superuser sees them
        admin = AdminClient(broker.client_config(user="admin"))
        topics = admin.list_topics(timeout=10).topics
        assert {t.name: len(topics[t.name].partitions) for t in topology.topics} == {"frontend-events": 6,
                                                                                      "internal-tasks": 3}
        admin.create_topics([NewTopic("not-in-acls", 1, 1)])["not-in-acls"].result(timeout=30)

        def produce(topic: str):
            results = []
            p = Producer(broker.client_config(user="deml-app"))
            p.produce(topic, b"{}", key=b"acme", on_delivery=lambda err, msg: results.append(err))
            p.flush(20)
            return results

        assert produce("frontend-events") == [None]  # the app user may write its topic
        denied = produce("not-in-acls")
        assert denied and denied[0] is not None and denied[0].name() == "TOPIC_AUTHORIZATION_FAILED", denied


@pytest.mark.docker
def test_firebase_emulator_container_writes_reads_and_mints_tenant_tokens(topology):
    from harness import clients
    from harness.runtime.probes import FirestoreProbe

    with container_for(topology, "firebase", wait_functions=False) as fb:
        _started(fb)
        assert type(fb).__name__ == "FirebaseEmulatorContainer" and fb.project_id == "demo-deml"
        assert FirestoreProbe("firebase", fb.firestore_host(), fb.project_id).check() == "wrote and read a document"
        tenant = clients.firestore_doc(fb.firestore_host(), fb.project_id, "tenants/acme")  # bootstrap wrote it
        assert tenant["fields"]["name"]["stringValue"] == "Acme Corp"
        token = fb.id_token("acme")
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["tenant_id"] == "acme" and claims["aud"] == fb.project_id


@pytest.mark.docker
def test_postgres_container_has_the_schema_and_tenants_and_an_app_container_reaches_it(topology):
    """Postgres bootstrapped from app/sql; the backend (an app role) on the same network, hardened as compose runs
    it, reaches it by service name and answers on its loopback-published port."""
    import docker
    import psycopg
    import requests
    from testcontainers.core.network import Network

    with Network() as net, container_for(topology, "postgres", network=net) as pg:
        _started(pg)
        probe = pg.probes()[0]
        with psycopg.connect(probe.dsn, password=pg.secret("POSTGRES_PASSWORD"), connect_timeout=5) as conn:
            tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables "
                                                 "WHERE table_schema = 'public'")}
            tenants = [r[0] for r in conn.execute("SELECT id FROM tenants ORDER BY id")]
        assert {"tenants", "actions", "outbox"} <= tables
        assert tenants == sorted(t.id for t in topology.tenants)
        with container_for(topology, "backend", network=net) as backend:
            _started(backend)
            env = requests.get(f"http://127.0.0.1:{backend.host_port('http')}/contract/env", timeout=5).json()
            assert env["present"]["DATABASE_PASSWORD"] is True
            info = docker.from_env().api.inspect_container(backend.get_container_id())
            host = info["HostConfig"]
            assert info["Config"]["User"] == "10001:10001" and host["ReadonlyRootfs"] is True
            assert host["CapDrop"] == ["ALL"] and "/tmp" in host["Tmpfs"]
            assert {b["HostIp"] for bs in host["PortBindings"].values() for b in bs} == {"127.0.0.1"}


@pytest.mark.docker
def test_clickhouse_container_has_the_projection_table(topology):
    import requests

    from harness import clients

    with container_for(topology, "clickhouse") as ch:
        _started(ch)
        probe = ch.probes()[0]
        event_id = str(uuid.uuid4())
        row = {"event_id": event_id, "tenant_id": "acme", "type": "page.view", "source": "frontend",
               "occurred_at": "2026-11-27 12:00:00", "payload": "{}", "version": 1}
        r = requests.post(probe.url, data=f"INSERT INTO deml.events FORMAT JSONEachRow\n{json.dumps(row)}",
                          auth=(probe.user, probe.password), timeout=30)
        assert r.status_code == 200, r.text
        rows = clients.clickhouse(probe.url, probe.user, probe.password,
                                  f"SELECT tenant_id, type FROM deml.events FINAL WHERE event_id = '{event_id}'")
        assert rows == [{"tenant_id": "acme", "type": "page.view"}]


@pytest.mark.docker
def test_dragonfly_container_answers_redis_on_loopback(topology):
    import redis

    with container_for(topology, "dragonfly") as cache:
        _started(cache)
        r = redis.Redis(host="127.0.0.1", port=cache.host_port("redis"), socket_timeout=3)
        r.set("processed:x", 1, ex=60)
        assert r.get("processed:x") == b"1"
