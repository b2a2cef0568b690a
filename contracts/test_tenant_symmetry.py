"""Tenant0 symmetry: the platform tenant is processed exactly like every other tenant.

The same scenario runs for every tenant at once; then everything the pipeline writes per tenant is compared:
the Firestore projections, the processed markers, the counters, the ClickHouse rows and the cron health
document. A Tenant0 special case in any of them (skipped, counted differently, shaped differently) fails it.
"""
from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from contracts.support import act_many, ch, counter, exact, firestore_count_where, ingest_many, plain, unique
from harness.testing import clients

pytestmark = pytest.mark.services("telemetry-worker", "daemon")

EVENTS = 25  # per tenant, through ingestEvent; plus one action through the backend's outbox


def projections_of(e, tenant: str, field: str, value: str) -> list[dict]:
    url = (f"http://{e.firestore_host}/v1/projects/{e.firebase_project}/databases/(default)/documents/"
           f"tenants/{tenant}:runQuery")
    body = {"structuredQuery": {"from": [{"collectionId": "events"}], "where": {"fieldFilter": {
        "field": {"fieldPath": field}, "op": "EQUAL", "value": {"stringValue": value}}}}}
    r = requests.post(url, json=body, headers={"Authorization": "Bearer owner"}, timeout=60)
    r.raise_for_status()
    return [row["document"]["fields"] for row in r.json() if "document" in row]


def markers_of(e, tenant: str, event_ids: list[str]) -> int:
    """How many of these events have their processed marker (batchGet of tenants/T/processed/ID)."""
    root = f"projects/{e.firebase_project}/databases/(default)/documents"
    r = requests.post(f"http://{e.firestore_host}/v1/{root}:batchGet",
                      json={"documents": [f"{root}/tenants/{tenant}/processed/{i}" for i in event_ids]},
                      headers={"Authorization": "Bearer owner"}, timeout=60)
    r.raise_for_status()
    return sum(1 for row in r.json() if "found" in row)


PER_EVENT = ("event_id", "occurred_at", "projected_at")  # unique per event by design, whatever the tenant


def normalise(fields: dict, tenant: str) -> str:
    """What a projection says, with the tenant id replaced and per-event ids and times taken out."""
    doc = {k: v for k, v in plain({"mapValue": {"fields": fields}}).items() if k not in PER_EVENT}
    doc.get("payload", {}).pop("action_id", None)  # the backend's row id, unique per action
    return json.dumps(doc, sort_keys=True).replace(json.dumps(tenant), '"<tenant>"')


def olap_rows(e, tenant: str, type_: str) -> list[str]:
    """The tenant's ClickHouse rows of the scenario (FINAL), tenant id replaced, per-event ids and times out."""
    rows = ch(e, f"SELECT type, source, payload FROM deml.events FINAL WHERE tenant_id = '{tenant}' AND "
                 f"(type = '{type_}' OR payload LIKE '%\"kind\":\"{type_}\"%') ORDER BY type, payload")
    out = []
    for r in rows:
        payload = json.loads(r["payload"])
        payload.pop("action_id", None)
        out.append(json.dumps({"type": r["type"], "source": r["source"], "payload": payload}, sort_keys=True)
                   .replace(json.dumps(tenant), '"<tenant>"'))
    return sorted(out)


def counters_of(e, tenant: str, type_: str) -> dict:
    key = type_.replace(".", "_")
    return {"by_type." + key: counter(e, tenant, "by_type", key),
            "by_type.action_created": counter(e, tenant, "by_type", "action_created"),
            "by_source.frontend": counter(e, tenant, "by_source", "frontend"),
            "by_source.outbox": counter(e, tenant, "by_source", "outbox")}


def run_scenario(e, tenant: str, type_: str) -> list[str]:
    """The same events for one tenant: EVENTS through ingestEvent, one action through the outbox. Event ids."""
    user = clients.sign_in(e.auth_host, e.firebase_project, tenant)
    events = [{"event_id": str(uuid.uuid4()), "type": type_, "payload": {"i": i, "tag": "same"}}
              for i in range(EVENTS)]
    ingest_many(e, user.id_token, events, workers=4)
    action = act_many(e, user.id_token, tenant, [{"aggregate_id": "symmetry", "kind": type_,
                                                  "payload": {"tag": "same"}}], workers=1)[0]
    return [ev["event_id"] for ev in events] + [action["event_id"]]


def check_tenants_symmetric(e, tenant_ids: list[str]) -> dict:
    """Run the scenario for every tenant concurrently; every per-tenant result must equal the first tenant's."""
    type_ = f"contract.{unique('symmetry')}"
    before = {t: counters_of(e, t, type_) for t in tenant_ids}
    with ThreadPoolExecutor(len(tenant_ids)) as pool:
        ids = dict(zip(tenant_ids, pool.map(lambda t: run_scenario(e, t, type_), tenant_ids)))

    def projected_everywhere() -> int:  # the smallest per-tenant count: reaches EVENTS + 1 when all are through
        return min(firestore_count_where(e, f"tenants/{t}", "events", "type", type_)
                   + firestore_count_where(e, f"tenants/{t}", "events", "payload.kind", type_) for t in tenant_ids)

    exact(e, projected_everywhere, EVENTS + 1, outbox=True)
    seen = {}
    for t in tenant_ids:
        after = counters_of(e, t, type_)
        docs = projections_of(e, t, "type", type_) + projections_of(e, t, "payload.kind", type_)
        seen[t] = {
            "projections": sorted(normalise(d, t) for d in docs),
            "markers": markers_of(e, t, ids[t]),
            "counter deltas": {k: after[k] - before[t][k] for k in after},
            "clickhouse rows": olap_rows(e, t, type_),
        }
    reference_tenant = tenant_ids[0]
    reference = seen[reference_tenant]
    assert len(reference["projections"]) == EVENTS + 1, \
        f"{reference_tenant}: {len(reference['projections'])} projections of {EVENTS + 1} events"
    assert reference["markers"] == EVENTS + 1, f"{reference_tenant}: {reference['markers']} markers"
    for t, got in seen.items():
        for what, value in got.items():
            assert value == reference[what], \
                (f"{t} is processed differently from {reference_tenant} in its {what}: "
                 f"{_show(value)} vs {_show(reference[what])}")
    return {t: {k: len(v) if isinstance(v, list) else v for k, v in got.items()} for t, got in seen.items()}


def _show(value) -> str:
    if isinstance(value, list):
        return f"{len(value)} items, first {value[:1]}"
    return json.dumps(value, sort_keys=True)


def health_of(e, tenant: str) -> dict:
    doc = clients.firestore_doc(e.firestore_host, e.firebase_project, f"tenants/{tenant}/health/cron")
    return plain({"mapValue": {"fields": doc["fields"]}}) if doc else {}


def check_cron_reaches_every_tenant(e, tenant_ids: list[str], timeout: float = 60.0) -> dict:
    """Wait until a cron tick newer than now has reached every tenant's health document (all tenants watched at
    once, so the wait ends with the first tick that reached them all); the documents must have the same shape."""
    start = {t: health_of(e, t).get("ticks", 0) for t in tenant_ids}
    deadline = time.monotonic() + timeout
    while True:
        now = {t: health_of(e, t) for t in tenant_ids}
        moved = {t: now[t].get("ticks", 0) > start[t] for t in tenant_ids}
        if all(moved.values()):
            break
        if time.monotonic() > deadline:
            stuck = sorted(t for t, ok in moved.items() if not ok)
            raise AssertionError(f"no new cron tick projected within {timeout:.0f} s for {', '.join(stuck)} "
                                 f"(ticks then and now: {({t: (start[t], now[t].get('ticks', 0)) for t in stuck})})")
        time.sleep(0.25)
    shapes = {t: sorted(doc) for t, doc in now.items()}
    for t in tenant_ids:
        assert shapes[t] == shapes[tenant_ids[0]], f"{t}'s health document has fields {shapes[t]}"
        assert now[t]["tenant_id"] == t, f"{t}'s health document names tenant {now[t]['tenant_id']}"
    return {t: now[t]["ticks"] - start[t] for t in tenant_ids}


def test_the_same_scenario_gives_equal_results_for_every_tenant(endpoints, topology):
    """The same events for every tenant (Tenant0 included): equal projections, markers, counters, ClickHouse rows."""
    check_tenants_symmetric(endpoints, [t.id for t in topology.tenants])


def test_cron_ticks_reach_every_tenant_including_tenant0(endpoints, topology):
    """Every cron tick reaches every tenant in Postgres, Tenant0 included, with the same health document."""
    check_cron_reaches_every_tenant(endpoints, [t.id for t in topology.tenants])
