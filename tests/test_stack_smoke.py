"""Smoke test of the runtime: bring the compose target up for real (ephemeral project, shifted ports), check
every probe, the security defaults and one event through each pipeline path; always tear down.

Needs a Docker engine, Compose v2 and the images (`make test` provisions and builds them)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from contracts.support import ch_count
from contracts.test_hardening import check_hardened, check_ports, inspect_all
from contracts.test_sasl import kcat_env as sasl_kcat_env
from contracts.test_sasl import CASES, check_accepted, check_rejected
from harness import clients
from harness.runtime import bootstrap
from harness.runtime.docker import run

pytestmark = pytest.mark.docker


def test_every_service_answered_its_real_probe(topo_stack):
    report = topo_stack.report
    assert set(report.answered) == {s.name for s in topo_stack.topology.services}
    for service in topo_stack.topology.services:
        for probe in topo_stack.access.probes(service, lambda n=service.name: topo_stack.compose.container_id(n)):
            assert probe.check()  # raises when the service does not answer


def test_bootstrap_is_idempotent(topo_stack, topo_endpoints):
    from confluent_kafka.admin import AdminClient

    lines: list[str] = []
    bootstrap.run_all(topo_stack.access, topo_stack.root, lines.append)  # a second time: harmless
    assert any("already there" in line for line in lines)
    admin = AdminClient({"bootstrap.servers": topo_endpoints.kafka_bootstrap, "security.protocol": "SASL_PLAINTEXT",
                         "sasl.mechanism": topo_endpoints.kafka_mechanism, "log_level": 0,
                         "sasl.username": topo_endpoints.kafka_app_user, "sasl.password": topo_endpoints.kafka_app_password})
    topics = admin.list_topics(timeout=10).topics
    for topic in topo_stack.topology.topics:
        assert len(topics[topic.name].partitions) == topic.partitions
    import psycopg

    with psycopg.connect(topo_endpoints.postgres_dsn, password=topo_endpoints.postgres_password) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM tenants ORDER BY id")]
    assert sorted(t.id for t in topo_stack.topology.tenants) == ids and "tenant0" in ids


def test_kafka_rejects_anonymous_and_wrong_password_confluent(topo_endpoints):
    """The broker's own answers (contracts/test_sasl.py's checks): a timeout or a closed port is no rejection."""
    check_accepted(topo_endpoints)
    for name in ("anonymous", "wrong-password", "wrong-mechanism"):
        overrides, expect = CASES[name]
        check_rejected(topo_endpoints, overrides, expect)


@pytest.fixture(scope="module")
def kcat_env(tmp_path_factory) -> dict:
    return sasl_kcat_env(tmp_path_factory.mktemp("librdkafka"))


def _kcat(endpoints, env: dict, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["kcat", "-L", "-b", endpoints.kafka_bootstrap, "-m", "6", *extra],
                          capture_output=True, text=True, timeout=30, env=env)


def test_kafka_rejects_anonymous_and_wrong_password_kcat(topo_endpoints, kcat_env):
    assert shutil.which("kcat"), "kcat is installed by scripts/provision-docker.sh (make provision)"
    sasl = ["-X", "security.protocol=SASL_PLAINTEXT", "-X", f"sasl.mechanisms={topo_endpoints.kafka_mechanism}",
            "-X", f"sasl.username={topo_endpoints.kafka_app_user}"]
    ok = _kcat(topo_endpoints, kcat_env, *sasl, "-X", f"sasl.password={topo_endpoints.kafka_app_password}")
    assert ok.returncode == 0 and "frontend-events" in ok.stdout, ok.stderr
    wrong = _kcat(topo_endpoints, kcat_env, *sasl, "-X", "sasl.password=wrong-password")
    assert wrong.returncode != 0 and "Authentication failed" in wrong.stderr
    anonymous = _kcat(topo_endpoints, kcat_env)
    assert anonymous.returncode != 0


def test_app_containers_are_hardened(topo_stack):
    inspected = inspect_all(topo_stack)
    for name, c in ((s.name, inspected[s.name]) for s in topo_stack.topology.services if s.role == "app"):
        check_hardened(name, c)
        assert c["Config"]["User"] == "10001:10001", name
        uid = run(["docker", "exec", c["Id"], "python3", "-c", "import os; print(os.getuid())"]).stdout.strip()
        assert uid == "10001", name
        write = run(["docker", "exec", c["Id"], "python3", "-c", "open('/opt/x', 'w')"], check=False)
        assert write.returncode != 0 and "Read-only file system" in write.stderr, name


def test_ports_published_only_on_loopback(topo_stack):
    inspected = inspect_all(topo_stack)
    for s in topo_stack.topology.services:
        check_ports(s.name, inspected[s.name], {p.port for p in s.ports if p.publish})


def test_backend_lists_the_environment_contract(topo_endpoints):
    import requests

    present = requests.get(f"{topo_endpoints.backend_url}/contract/env", timeout=10).json()["present"]
    assert all(present.values()), [k for k, v in present.items() if not v]


def test_one_action_and_one_ingest_land_exactly_once(topo_endpoints):
    import requests

    e = topo_endpoints
    user = clients.sign_in(e.auth_host, e.firebase_project, "acme")
    r = requests.post(f"{e.frontend_url}/api/tenants/acme/actions", headers={"Authorization": f"Bearer {user.id_token}"},
                      json={"aggregate_id": "order-1", "kind": "order.placed", "payload": {"n": 1}}, timeout=30)
    assert r.status_code == 201, r.text
    action_event = r.json()["event_id"]
    r = clients.call(e.functions_url, e.firebase_project, "ingestEvent",
                     {"type": "page.view", "payload": {"path": "/"}}, user.id_token)
    assert r.status_code == 200, r.text
    ingest_event = r.json()["result"]["event_id"]
    for event_id in (action_event, ingest_event):
        doc = clients.eventually(lambda: clients.firestore_doc(e.firestore_host, e.firebase_project,
                                                               f"tenants/acme/events/{event_id}"), timeout=30)
        assert doc, f"{event_id} was not projected to Firestore"
        assert clients.firestore_count(e.firestore_host, e.firebase_project, "tenants/acme", "processed") >= 1
        rows = clients.eventually(lambda: ch_count(e, f"event_id = '{event_id}'") == 1, timeout=30)
        assert rows, f"{event_id} is not exactly once in ClickHouse"


def test_cron_ticks_reach_every_tenant_including_tenant0(topo_stack, topo_endpoints):
    e = topo_endpoints
    for tenant in topo_stack.topology.tenants:
        doc = clients.eventually(lambda t=tenant.id: clients.firestore_doc(e.firestore_host, e.firebase_project,
                                                                           f"tenants/{t}/health/cron"), timeout=40)
        assert doc, f"no cron tick projected for {tenant.id}"
