"""OLAP consistency: the long-term rows in ClickHouse match the Firestore projections, id for id."""
from __future__ import annotations

import uuid

import pytest
import requests

from contracts.support import ch, ingest_many, settle
from harness import clients

pytestmark = pytest.mark.services("telemetry-worker", "clickhouse")


def firestore_ids(e, tenant: str) -> set[str]:
    url = f"http://{e.firestore_host}/v1/projects/{e.firebase_project}/databases/(default)/documents/tenants/{tenant}/events"
    ids, token = set(), None
    while True:
        r = requests.get(url, params={"pageSize": 300, **({"pageToken": token} if token else {})},
                         headers={"Authorization": "Bearer owner"}, timeout=60)
        r.raise_for_status()
        body = r.json()
        ids |= {d["name"].rsplit("/", 1)[1] for d in body.get("documents", [])}
        token = body.get("nextPageToken")
        if not token:
            return ids


def test_clickhouse_rows_match_firestore_projections_id_for_id(endpoints):
    """For a tenant, ClickHouse rows (after FINAL) and Firestore projections hold the same event ids."""
    tenant = f"olap-{uuid.uuid4().hex[:6]}"
    user = clients.sign_in(endpoints.auth_host, endpoints.firebase_project, tenant)
    events = [{"event_id": str(uuid.uuid4()), "type": "page.view", "payload": {"i": i}} for i in range(150)]
    ingest_many(endpoints, user.id_token, events + events[:30])  # 30 repeats: still 150 distinct events
    assert settle(lambda: len(firestore_ids(endpoints, tenant)), 150, timeout=120) == 150
    rows = settle(lambda: int(ch(endpoints, f"SELECT count() AS n FROM deml.events FINAL WHERE tenant_id = '{tenant}'")[0]["n"]),
                  150, timeout=60)
    assert rows == 150
    olap = {r["event_id"] for r in ch(endpoints, f"SELECT event_id FROM deml.events FINAL WHERE tenant_id = '{tenant}'")}
    assert olap == firestore_ids(endpoints, tenant) == {e["event_id"] for e in events}
