"""OLAP consistency: the long-term rows in ClickHouse match the Firestore projections, id for id."""
from __future__ import annotations

import uuid

import pytest
import requests

from contracts.support import ch, exact, ingest_many
from harness.testing import clients

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


def check_events_table_deduplicates(e) -> dict:
    """The long-term table collapses repeats of one event: a ReplacingMergeTree whose sorting key ends in event_id.
    (A redelivered batch — a crash after the rows, before the offset commit — is inserted again; only the engine
    makes `FINAL` count it once.)"""
    rows = ch(e, "SELECT engine, sorting_key FROM system.tables WHERE database = 'deml' AND name = 'events'")
    assert rows, "ClickHouse has no table deml.events"
    engine, key = rows[0]["engine"], rows[0]["sorting_key"]
    assert engine.startswith("Replacing") and "event_id" in key.replace(" ", "").split(","), \
        f"deml.events is {engine} ORDER BY ({key}): repeats of an event are not collapsed by event_id"
    return {"engine": engine, "sorting_key": key}


def check_rows_match_projections(e, n: int = 150, repeats: int = 30) -> dict:
    """n events (repeats of them sent again) for a fresh tenant: ClickHouse rows after FINAL and Firestore
    projections hold the same n event ids."""
    tenant = f"olap-{uuid.uuid4().hex[:6]}"
    user = clients.sign_in(e.auth_host, e.firebase_project, tenant)
    events = [{"event_id": str(uuid.uuid4()), "type": "page.view", "payload": {"i": i}} for i in range(n)]
    ingest_many(e, user.id_token, events + events[:repeats])  # still n distinct events
    projected = exact(e, lambda: len(firestore_ids(e, tenant)), n)
    rows = int(ch(e, f"SELECT count() AS n FROM deml.events FINAL WHERE tenant_id = '{tenant}'")[0]["n"])
    assert (projected, rows) == (n, n), f"{n} distinct events: {projected} projections, {rows} ClickHouse rows (FINAL)"
    olap = {r["event_id"] for r in ch(e, f"SELECT event_id FROM deml.events FINAL WHERE tenant_id = '{tenant}'")}
    sent = {ev["event_id"] for ev in events}
    assert olap == firestore_ids(e, tenant) == sent, \
        f"ids differ: {len(olap - sent)} unknown in ClickHouse, {len(sent - olap)} missing from it"
    return {"projected": projected, "rows": rows}


def test_the_events_table_collapses_repeats_by_event_id(endpoints):
    """deml.events is a ReplacingMergeTree keyed by event_id: a redelivered row cannot be counted twice."""
    check_events_table_deduplicates(endpoints)


def test_clickhouse_rows_match_firestore_projections_id_for_id(endpoints):
    """For a tenant, ClickHouse rows (after FINAL) and Firestore projections hold the same event ids."""
    check_rows_match_projections(endpoints)
