"""Tenant0 symmetry: the platform tenant is processed exactly like every other tenant."""
from __future__ import annotations

import json
import uuid

import pytest
import requests

from contracts.support import firestore_count_where, ingest_many, plain, settle, unique
from harness import clients

pytestmark = pytest.mark.services("telemetry-worker", "daemon")


def projections_of(e, tenant: str, field: str, value: str) -> list[dict]:
    url = (f"http://{e.firestore_host}/v1/projects/{e.firebase_project}/databases/(default)/documents/"
           f"tenants/{tenant}:runQuery")
    body = {"structuredQuery": {"from": [{"collectionId": "events"}], "where": {"fieldFilter": {
        "field": {"fieldPath": field}, "op": "EQUAL", "value": {"stringValue": value}}}}}
    r = requests.post(url, json=body, headers={"Authorization": "Bearer owner"}, timeout=60)
    r.raise_for_status()
    return [row["document"]["fields"] for row in r.json() if "document" in row]


PER_EVENT = ("event_id", "occurred_at", "projected_at")  # unique per event by design, whatever the tenant


def normalise(fields: dict, tenant: str) -> str:
    """What a projection says, with the tenant id replaced and per-event ids and times taken out."""
    doc = {k: v for k, v in plain({"mapValue": {"fields": fields}}).items() if k not in PER_EVENT}
    doc.get("payload", {}).pop("action_id", None)  # the backend's row id, unique per action
    return json.dumps(doc, sort_keys=True).replace(json.dumps(tenant), '"<tenant>"')


def test_the_same_scenario_gives_equal_projections_for_every_tenant(endpoints, topology):
    """The same events for every tenant (Tenant0 included) yield projections equal after normalising the tenant."""
    type_ = f"contract.{unique('symmetry')}"
    seen = {}
    for tenant in topology.tenants:
        user = clients.sign_in(endpoints.auth_host, endpoints.firebase_project, tenant.id)
        ingest_many(endpoints, user.id_token, [{"event_id": str(uuid.uuid4()), "type": type_,
                                                "payload": {"i": i, "tag": "same"}} for i in range(25)])
        r = requests.post(f"{endpoints.backend_url}/api/tenants/{tenant.id}/actions",
                          json={"aggregate_id": "symmetry", "kind": type_, "payload": {"tag": "same"}},
                          headers={"Authorization": f"Bearer {user.id_token}"}, timeout=30)
        assert r.status_code == 201, f"{tenant.id}: {r.text}"
    for tenant in topology.tenants:
        assert settle(lambda t=tenant.id: firestore_count_where(endpoints, f"tenants/{t}", "events", "type", type_),
                      25, timeout=120) == 25, tenant.id
        assert settle(lambda t=tenant.id: firestore_count_where(endpoints, f"tenants/{t}", "events", "payload.kind",
                                                                type_), 1, timeout=120) == 1, tenant.id
        docs = projections_of(endpoints, tenant.id, "type", type_) + \
            projections_of(endpoints, tenant.id, "payload.kind", type_)
        seen[tenant.id] = sorted(normalise(d, tenant.id) for d in docs)
    reference = seen[topology.tenants[0].id]
    assert topology.tenants[0].id == "tenant0"
    for tenant, projections in seen.items():
        assert projections == reference, f"{tenant} is projected differently from tenant0"


def test_cron_ticks_reach_every_tenant_including_tenant0(endpoints, topology):
    """Every cron tick reaches every tenant in Postgres, Tenant0 included."""
    def ticks(tenant: str) -> int:
        doc = clients.firestore_doc(endpoints.firestore_host, endpoints.firebase_project, f"tenants/{tenant}/health/cron")
        return int(doc["fields"]["ticks"]["integerValue"]) if doc else 0

    before = {t.id: ticks(t.id) for t in topology.tenants}
    for tenant in topology.tenants:
        assert clients.eventually(lambda t=tenant.id: ticks(t) > before[t], timeout=45), \
            f"no new cron tick projected for {tenant.id}"
