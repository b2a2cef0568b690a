"""Railway's monthly cost from measured usage (harness/cost.py), `topo cost --compare`, and the usage sampler's pure
parts (harness/runtime/usage.py). No Docker: the usage documents and Docker stats answers are made up here."""
from __future__ import annotations

import json

import pytest

from harness import cost
from harness.loader import load_text
from harness.runtime import usage

# Three services: web (Lightsail), broker (Fargate, 10Gi volume), db (RDS, a volume of undeclared size), and Firebase
# placed outside AWS (not priced on either side).
TOPOLOGY = """\
version: 1
project: shop
aws:
  region: us-east-1
  lightsail: {service: shop-apps, power: micro, scale: 1, public_endpoint: {container: web, port: http}, vpc_peering: true}
tenants: [{id: tenant0}]
topics: [{name: events, partitions: 3}]
kafka:
  mechanism: SCRAM-SHA-256
  users:
    - {name: app, password_secret: kafka-password, acls: [{resource: topic, name: events, operations: [read, write]}]}
secrets: {kafka-password: {}, db-password: {}}
images:
  app: {ref: shop/app:1}
  broker: {ref: redpandadata/redpanda:v26.2.1}
  db: {ref: postgres:16}
  fb: {ref: shop/firebase:1}
services:
  web:
    role: app
    image: app
    command: [shop, web]
    ports: [{name: http, port: 8080, protocol: http, publish: true}]
    env: {BROKERS: "${broker.host}:${broker.port.kafka}", DATABASE_URL: "postgresql://shop@${db.host}:5432/shop"}
    secrets: {DB_PASSWORD: db-password}
    resources: {cpu: 0.25, memory: 512Mi}
    healthcheck: {http: {path: /healthz, port: http}}
    depends_on: [broker, db]
    placement: {aws: lightsail}
  broker:
    role: stateful
    image: broker
    command: [redpanda, start, --mode=dev-container, --smp=1, --memory=1G, --set, redpanda.enable_sasl=true]
    ports: [{name: kafka, port: 9092, protocol: tcp}]
    volumes: [{name: broker-data, path: /var/lib/redpanda/data, size: 10Gi}]
    resources: {cpu: 0.5, memory: 2Gi}
    placement: {aws: {kind: fargate, capacity: spot, volume_lifecycle: retained}}
  db:
    role: stateful
    image: db
    ports: [{name: postgres, port: 5432, protocol: tcp}]
    volumes: [{name: db-data, path: /var/lib/postgresql/data}]
    placement: {aws: {kind: rds, instance_class: db.t4g.micro}}
  fb:
    role: emulator
    image: fb
    ports: [{name: ui, port: 4000, protocol: http}]
    placement: {aws: {kind: external, host: firebase.shop.internal, note: Google Firebase}}
"""


@pytest.fixture(scope="module")
def topology():
    t, _ = load_text(TOPOLOGY)
    return t


def usage_doc(services: dict, idle: dict | None = None) -> dict:
    return {"schema": usage.SCHEMA, "window_s": 120.0, "events_pushed": 1000, "command": "python bench/usage.py",
            "measured": {"at": "2026-11-27T21:00:00+00:00", "host": "testhost", "cpus": 2},
            "unavailable": None, "services": services,
            **({"idle": {"window_s": 30.0, "services": idle}} if idle else {})}


LOAD = {"web": {"avg_vcpu": 0.25, "avg_mem_mib": 512, "peak_mem_mib": 600},
        "broker": {"avg_vcpu": 0.5, "avg_mem_mib": 1024, "peak_mem_mib": 1100},
        "db": {"avg_vcpu": 0.05, "avg_mem_mib": 256, "peak_mem_mib": 300},
        "fb": {"avg_vcpu": 1.0, "avg_mem_mib": 2048, "peak_mem_mib": 2048}}
IDLE = {name: {"avg_vcpu": 0.01, "avg_mem_mib": 64, "peak_mem_mib": 64} for name in ("web", "broker", "db")}


def test_railway_estimate_is_the_hand_arithmetic(topology):
    """By hand, at $20/vCPU-month, $10/GB-month, $0.15/GB-month volume, $0.05/GB egress:
    web 0.25×20 + 0.5 GB×10 = 10.00; broker 0.5×20 + 1 GB×10 = 20.00; db 0.05×20 + 0.25 GB×10 = 3.50 (compute 33.50);
    volumes broker 10 GB×0.15 = 1.50 and db 50 GB (Pro default: the 10 GB volume does not fit Hobby's 5 GB) ×0.15
    = 7.50; egress 20 GB×0.05 = 1.00; usage 43.50; Pro base $20 includes $20 of usage → 20 + 43.50 − 20 = 43.50.
    Firebase (outside AWS) is not priced although measured. Idle: 3 × (0.01×20 + 0.0625 GB×10) = 2.475 + 9 + 1
    = 12.475 of usage, under the $20 included → $20.00."""
    r = cost.railway_estimate(topology, usage_doc(LOAD, IDLE))
    by = {(line["item"], line["service"]): line["monthly_usd"] for line in r["lines"]}
    assert r["plan"] == "pro" and "per-service volume maximum (1024 GB)" in r["plan_why"]
    assert by[("CPU + RAM (measured under load)", "web")] == 10.0
    assert by[("CPU + RAM (measured under load)", "broker")] == 20.0
    assert by[("CPU + RAM (measured under load)", "db")] == 3.5
    assert ("CPU + RAM (measured under load)", "fb") not in by
    assert by[("Volume", "broker")] == 1.5 and by[("Volume", "db")] == 7.5
    assert by[("Egress", "egress")] == 1.0
    assert by[("Plan base fee", "pro")] == 20.0 and by[("Included usage", "pro")] == -20.0
    assert r["usage_usd"] == 43.5 and r["total_usd"] == 43.5
    assert r["idle_total_usd"] == 20.0
    # fb: 1.0×20 + 2 GB×10 = 40.00, said beside the total, not in it
    assert r["left_out"] == ["fb (placed outside AWS: Google Firebase; as a Railway service it would add "
                             "$40.00/month at its measured usage)"]
    assert "hold all month" in r["assumption"] and "1,000 events" in r["assumption"]


def test_a_declared_plan_is_the_plan_priced():
    """railway.plan: hobby with small usage: web 0.01×20 + 0.0625 GB×10 = 0.825; volumes 10 GB×0.15 = 1.50 and
    db 5 GB (Hobby default)×0.15 = 0.75; egress 1.00 → usage 4.075 < the $5 included → $5.00."""
    t, _ = load_text(TOPOLOGY.replace("tenants:", "railway: {plan: hobby}\ntenants:"))
    r = cost.railway_estimate(t, usage_doc({"web": IDLE["web"]}))
    assert r["plan"] == "hobby" and "declared" in r["plan_why"]
    assert r["usage_usd"] == 4.08 and r["total_usd"] == 5.0 and r["not_measured"] == ["broker", "db"]


def test_a_service_not_measured_is_named_not_guessed(topology):
    r = cost.railway_estimate(topology, usage_doc({"web": LOAD["web"], "pod": LOAD["web"]}))
    assert r["not_measured"] == ["broker", "db"]
    assert r["measured_not_in_topology"] == ["pod"]
    assert not any(line["service"] in ("broker", "db") and line["item"].startswith("CPU") for line in r["lines"])


def test_no_usage_is_a_message_not_a_number(topology):
    with pytest.raises(cost.NeedsMeasurement, match="needs a measurement.*topo gate.*bench/usage.py"):
        cost.railway_estimate(topology, None)
    with pytest.raises(cost.NeedsMeasurement, match="holds no measurement.*engine not reachable"):
        cost.railway_estimate(topology, usage_doc({}) | {"unavailable": "Docker engine not reachable"})


def test_compare_names_both_hosts_and_the_chapter_figure(topology, tmp_path, run_cli):
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    (tmp_path / "usage.json").write_text(json.dumps(usage_doc(LOAD, IDLE)))
    code, out, err = run_cli("cost", "-f", str(tmp_path / "topology.yaml"), "--compare", "railway", "aws",
                             "--usage", str(tmp_path / "usage.json"))
    assert code == 0, err
    assert "railway vs aws" in out and "~$50" in out and "$35–55" in out
    assert "approximately fifty dollars per month" in out and "deml-aws-deployment-chapter.txt:3" in out
    assert "43.50" in out and "Measured, not guessed" in out and "20.00" in out  # railway total, idle total
    cmp = cost.compare(topology, ("railway", "aws"), usage_doc(LOAD))
    assert cmp["hosts"] == ["railway", "aws"] and cmp["totals"]["railway"] == 43.5
    assert cmp["totals"]["aws"] == cost.summary(topology)["total_usd"]
    assert cmp["chapter"] == {"railway": "~$50", "aws": "$35–55"}
    rows = {row["category"]: row for row in cmp["rows"]}
    assert rows["compute"]["railway"] == 33.5 and rows["included usage"]["railway"] == -20.0


def test_compare_without_usage_file_says_how_to_measure(tmp_path, run_cli):
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    code, out, err = run_cli("cost", "-f", str(tmp_path / "topology.yaml"), "--compare", "railway", "aws",
                             "--usage", str(tmp_path / "none.json"))
    assert code == 1 and out == ""
    assert "needs a measurement" in err and "topo gate" in err and "reports/usage.json" in err


# ---- the sampler's pure parts ------------------------------------------------------------------------------------

def test_parse_stats_reads_cpu_and_memory_without_file_cache():
    v1 = {"cpu_stats": {"cpu_usage": {"total_usage": 123_000_000}},
          "memory_stats": {"usage": 300 * usage.MIB, "stats": {"total_inactive_file": 100 * usage.MIB}}}
    v2 = {"cpu_stats": {"cpu_usage": {"total_usage": 5}},
          "memory_stats": {"usage": 50 * usage.MIB, "stats": {"inactive_file": 10 * usage.MIB}}}
    assert usage.parse_stats(v1) == (123_000_000, 200 * usage.MIB)
    assert usage.parse_stats(v2) == (5, 40 * usage.MIB)
    assert usage.parse_stats({"cpu_stats": {}, "memory_stats": {}}) == (None, None)  # a stopped container


def test_aggregate_counts_cpu_time_over_the_window_through_restarts_and_new_containers():
    """Window 0→4 s. x: container a uses 3 s of CPU; container c starts at t=3 (recreated, inside the window) with
    0.2 s → 3.2 s / 4 s = 0.8 vCPU. y: b goes 5→6 s, then restarts (counter 0.5 s) → 1.5 s / 4 = 0.375 vCPU.
    z: d is first seen at t=2 but started before the window: only its increase counts (1 s / 4 = 0.25).
    Memory of x per round: 100, 120, 140+10 MiB → average 123.3, peak 150."""
    g = 10 ** 9
    m = usage.MIB
    rounds = [
        {"t": 100.0, "containers": [{"id": "a", "service": "x", "cpu_ns": 0, "mem_bytes": 100 * m, "started": 50},
                                    {"id": "b", "service": "y", "cpu_ns": 5 * g, "mem_bytes": 10 * m, "started": 50}]},
        {"t": 102.0, "containers": [{"id": "a", "service": "x", "cpu_ns": 1 * g, "mem_bytes": 120 * m, "started": 50},
                                    {"id": "b", "service": "y", "cpu_ns": 6 * g, "mem_bytes": 10 * m, "started": 50},
                                    {"id": "d", "service": "z", "cpu_ns": 9 * g, "mem_bytes": 1 * m, "started": 40}]},
        {"t": 104.0, "containers": [{"id": "a", "service": "x", "cpu_ns": 3 * g, "mem_bytes": 140 * m, "started": 50},
                                    {"id": "c", "service": "x", "cpu_ns": g // 5, "mem_bytes": 10 * m, "started": 103},
                                    {"id": "b", "service": "y", "cpu_ns": g // 2, "mem_bytes": 10 * m, "started": 103.5},
                                    {"id": "d", "service": "z", "cpu_ns": 10 * g, "mem_bytes": 1 * m, "started": 40}]},
    ]
    agg = usage.aggregate(rounds)
    assert agg["window_s"] == 4.0 and agg["rounds"] == 3
    x, y, z = (agg["services"][s] for s in "xyz")
    assert x["avg_vcpu"] == 0.8 and x["cpu_seconds"] == 3.2 and x["containers"] == 2
    assert x["avg_mem_mib"] == 123.3 and x["peak_mem_mib"] == 150.0
    assert y["avg_vcpu"] == 0.375
    assert z["avg_vcpu"] == 0.25 and z["memory_samples"] == 2
    assert usage.aggregate(rounds[:1]) == {"window_s": 0.0, "rounds": 1, "services": {}}


class FakeApi:
    """The two low-level Docker calls the sampler makes, answered from a script."""

    def __init__(self):
        self.cpu = 0

    def containers(self, filters):
        assert filters["label"] == "com.docker.compose.project=p1"
        return [{"Id": "abc" * 10, "Names": ["/p1-web-1"], "Labels": {"com.docker.compose.service": "web"}}]

    def stats(self, cid, stream, one_shot):
        self.cpu += 10 ** 9
        return {"cpu_stats": {"cpu_usage": {"total_usage": self.cpu}}, "memory_stats": {"usage": 64 * usage.MIB}}

    def inspect_container(self, cid):
        return {"State": {"StartedAt": "2020-01-01T00:00:00.123456789Z"}}


class FakeClient:
    api = FakeApi()

    def version(self):
        return {"Version": "0.0-test"}


def test_sampler_document_and_unavailable_reasons(monkeypatch):
    s = usage.UsageSampler("p1", interval=0.05, client=FakeClient())
    s.started_at = None
    rounds = [s.sample_once(), s.sample_once()]
    assert rounds[0]["containers"][0]["service"] == "web" and rounds[0]["containers"][0]["started"] > 0
    s.rounds = rounds
    doc = s.document(events_pushed=7)
    assert doc["schema"] == usage.SCHEMA and doc["unavailable"] is None and doc["events_pushed"] == 7
    assert doc["services"]["web"]["avg_mem_mib"] == 64.0 and doc["services"]["web"]["cpu_seconds"] == 1.0

    none = usage.UsageSampler("").start().stop()
    assert "no compose project" in none["unavailable"] and none["services"] == {}

    class Down:
        def version(self):
            raise ConnectionError("no engine")

    down = usage.UsageSampler("p1", client=Down()).start().stop()
    assert "not reachable" in down["unavailable"] and "no engine" in down["unavailable"]


def test_usage_load_refuses_other_files(tmp_path):
    assert usage.load(tmp_path / "missing.json") is None
    (tmp_path / "other.json").write_text('{"violated": 0}')
    with pytest.raises(ValueError, match="not a usage file"):
        usage.load(tmp_path / "other.json")
    with pytest.raises(cost.NeedsMeasurement, match="not a usage file.*topo gate"):
        cost.load_usage(tmp_path / "other.json")
