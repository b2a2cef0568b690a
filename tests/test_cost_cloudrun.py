"""Cloud Run's side of `topo cost --compare` (harness/cloudrun/cost.py): allocated sizes from the rendering, billing
mode per service from its cpu-throttling annotation, instance counts and billable time from the measured load, the
free tier, and the services off Cloud Run named and left out — checked against hand arithmetic."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from harness import cost
from harness.cloudrun.prices import SECONDS_PER_MONTH, price
from harness.loader import load

ROOT = Path(__file__).resolve().parent.parent
USAGE = ROOT / "bench" / "usage-measured-2026-11-27.json"


@pytest.fixture(scope="module")
def topology():
    return load(ROOT / "topology.yaml")[0]


@pytest.fixture(scope="module")
def usage():
    return json.loads(USAGE.read_text())


def test_cloudrun_estimate_is_the_hand_arithmetic(topology, usage):
    c = cost.compare(topology, ("aws", "cloudrun"), usage, str(USAGE))
    cr = c["per_host"]["cloudrun"]
    assert cr["billing"] == {"frontend": "request", "backend": "request", "daemon": "instance"}
    month = SECONDS_PER_MONTH
    frontend = (1 * price("request.vcpu_second") + 128 / 1024 * price("request.gib_second")) * month
    backend = (1 * price("request.vcpu_second") + 160 / 1024 * price("request.gib_second")) * month
    daemon = (1 * price("instance.vcpu_second") + 448 / 1024 * price("instance.gib_second")) * month
    free = (180_000 * 0.000024 + 360_000 * 0.0000025) + (240_000 * 0.000018 + 450_000 * 0.000002)
    assert cr["total_usd"] == pytest.approx(frontend + backend + daemon - free, abs=0.02)
    assert cr["total_usd"] == pytest.approx(167.16, abs=0.01)
    # idle: the request-based services scale to zero; the always-on worker instance stays
    assert cr["idle_total_usd"] == pytest.approx(daemon - (240_000 * 0.000018 + 450_000 * 0.000002), abs=0.02)
    lines = {(x["item"], x["service"].split(" ")[0]): x for x in cr["lines"]}
    assert "instance-based" in lines[("Cloud Run CPU + memory (instance-based)", "daemon")]["how"]
    assert "sidecars telemetry-worker, workers" in lines[("Cloud Run CPU + memory (instance-based)", "daemon")]["service"]
    assert lines[("Cloud Run requests", "frontend")]["quantity"] == "not measured"
    off = [x["service"] for x in cr["lines"] if x["item"] == "Off Cloud Run (not priced)"]
    assert sorted(off) == ["clickhouse", "dragonfly", "firebase", "postgres", "redpanda"]
    assert all(x["source"] != "-" for x in cr["lines"] if x["item"] != "Off Cloud Run (not priced)")


def test_measured_requests_are_priced_and_more_load_means_more_instances(topology, usage):
    u = copy.deepcopy(usage)
    u["requests"] = {"backend": 500}
    u["services"]["backend"]["avg_vcpu"] = 1.5  # more than one allocated vCPU: two instances
    cr = cost.compare(topology, ("cloudrun", "aws"), u, "u.json")["per_host"]["cloudrun"]
    line = next(x for x in cr["lines"] if x["item"] == "Cloud Run requests" and x["service"] == "backend")
    per_month = 500 / u["window_s"] * SECONDS_PER_MONTH
    assert line["monthly_usd"] == pytest.approx(per_month / 1e6 * 0.40, abs=0.01)
    compute = next(x for x in cr["lines"] if x["item"].startswith("Cloud Run CPU") and x["service"] == "backend")
    assert compute["quantity"].endswith("× 2")


def test_a_service_not_measured_is_named_not_guessed(topology, usage):
    u = copy.deepcopy(usage)
    del u["services"]["workers"]
    cr = cost.compare(topology, ("cloudrun", "aws"), u, "u.json")["per_host"]["cloudrun"]
    assert cr["not_measured"] == ["workers"]
    assert not any(x["service"].startswith("daemon") for x in cr["lines"] if x["item"].startswith("Cloud Run CPU"))


def test_no_usage_is_a_message_not_a_number(topology):
    with pytest.raises(cost.NeedsMeasurement, match="Cloud Run bills allocated CPU"):
        cost.compare(topology, ("aws", "cloudrun"), None, "reports/none.json")


def test_compare_three_hosts_from_the_cli(run_cli):
    code, out, err = run_cli("cost", "--compare", "railway", "aws", "cloudrun", "--usage", str(USAGE), "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["hosts"] == ["railway", "aws", "cloudrun"]
    assert data["totals"]["cloudrun"] == pytest.approx(167.16, abs=0.01)
    code, out, _ = run_cli("cost", "--compare", "railway", "aws", "cloudrun", "--usage", str(USAGE))
    assert code == 0 and "Billing mode per service: frontend request-based" in out and "daemon instance-based" in out
