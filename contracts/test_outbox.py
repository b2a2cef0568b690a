"""Transactional outbox: committed actions become exactly one event each, rolled-back ones none, in order.

Checked at the source and on the wire, not through a time window: the Postgres outbox rows themselves, then
every message of internal-tasks up to the offsets taken once the relay has drained the outbox (`drain`)."""
from __future__ import annotations

import json

import pytest
import requests

from contracts.support import KafkaTap, ch_count, drain, pg, unique
from harness.testing import clients

pytestmark = pytest.mark.services("backend", "daemon", "telemetry-worker")


def post(e, token, tenant, body):
    return requests.post(f"{e.backend_url}/api/tenants/{tenant}/actions", json=body,
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)


def check_committed_action_yields_one_event(e, token: str, tenant: str = "acme") -> dict:
    """One committed action: one outbox row and one domain row; after the relay drained, exactly one message with
    its event id on internal-tasks; one projection and one ClickHouse row."""
    tap = KafkaTap(e, "internal-tasks")
    try:
        r = post(e, token, tenant, {"aggregate_id": unique("order"), "kind": "order.placed", "payload": {}})
        assert r.status_code == 201, r.text
        event_id, action_id = r.json()["event_id"], r.json()["action_id"]
        rows = pg(e, "SELECT tenant_id FROM outbox WHERE event_id = %s", event_id)
        assert rows == [(tenant,)], f"outbox rows for the action's event: {rows}"
        assert pg(e, "SELECT count(*) FROM actions WHERE id = %s", action_id) == [(1,)], "no domain row"
        marks = drain(e, outbox=True)
        ids = [json.loads(m.value())["event_id"] for m in tap.read_to(marks)]
    finally:
        tap.close()
    assert ids.count(event_id) == 1, f"internal-tasks carries the action's event {ids.count(event_id)} times"
    assert clients.firestore_doc(e.firestore_host, e.firebase_project, f"tenants/{tenant}/events/{event_id}"), \
        "the action's event was not projected"
    assert ch_count(e, f"event_id = '{event_id}'") == 1
    return {"event_id": event_id, "messages_read": len(ids)}


def check_rolled_back_action_yields_nothing(e) -> dict:
    """An action of an unknown tenant rolls back: no outbox row, no domain row, and — once the relay drained —
    no message of that tenant on any partition of internal-tasks, no projection, no ClickHouse row."""
    ghost = unique("ghost").replace("_", "-")
    user = clients.sign_in(e.auth_host, e.firebase_project, ghost)
    tap = KafkaTap(e, "internal-tasks")
    try:
        r = post(e, user.id_token, ghost, {"aggregate_id": "a1", "kind": "order.placed", "payload": {}})
        assert r.status_code == 404, r.text
        marks = drain(e, outbox=True)
        msgs = tap.read_to(marks)
    finally:
        tap.close()
    outbox = pg(e, "SELECT count(*) FROM outbox WHERE tenant_id = %s", ghost)[0][0]
    actions = pg(e, "SELECT count(*) FROM actions WHERE tenant_id = %s", ghost)[0][0]
    published = [m for m in msgs if json.loads(m.value())["tenant_id"] == ghost]
    assert (outbox, actions, len(published)) == (0, 0, 0), \
        (f"a rolled-back action left {outbox} outbox rows and {actions} domain rows, and {len(published)} "
         f"messages of tenant {ghost} on internal-tasks (of {len(msgs)} read up to the marks)")
    assert clients.firestore_count(e.firestore_host, e.firebase_project, f"tenants/{ghost}", "events") == 0
    assert ch_count(e, f"tenant_id = '{ghost}'", final=False) == 0
    return {"messages_read": len(msgs)}


def check_per_aggregate_order(e, token: str, tenant: str = "acme", n: int = 20) -> dict:
    """n actions of one aggregate: their events are on internal-tasks in commit order (a re-published duplicate
    may repeat a step, never reorder them)."""
    aggregate = unique("cart")
    tap = KafkaTap(e, "internal-tasks")
    try:
        for i in range(n):
            r = post(e, token, tenant, {"aggregate_id": aggregate, "kind": "cart.changed", "payload": {"step": i}})
            assert r.status_code == 201, r.text
        msgs = tap.read_to(drain(e, outbox=True))
    finally:
        tap.close()
    ours = [json.loads(m.value()) for m in msgs]
    ours = [env for env in ours if env["payload"].get("aggregate_id") == aggregate]
    steps: list = []
    for env in ours:
        if not steps or steps[-1] != env["payload"]["data"]["step"]:
            steps.append(env["payload"]["data"]["step"])
    assert steps == list(range(n)), f"the aggregate's steps arrived as {steps}"
    return {"messages": len(ours)}


def test_a_committed_action_yields_exactly_one_event(endpoints, acme):
    """A committed action yields one outbox row, exactly one event on internal-tasks, one projection, one OLAP row."""
    check_committed_action_yields_one_event(endpoints, acme.id_token)


def test_a_rolled_back_action_yields_no_event(endpoints):
    """An action whose transaction rolls back (unknown tenant) leaves no outbox row and yields no event at all."""
    check_rolled_back_action_yields_nothing(endpoints)


def test_per_aggregate_order_is_kept(endpoints, acme):
    """Events of one aggregate reach internal-tasks in the order their actions were committed."""
    check_per_aggregate_order(endpoints, acme.id_token)
