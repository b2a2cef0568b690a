"""Transactional outbox: committed actions become exactly one event each, rolled-back ones none, in order."""
from __future__ import annotations

import json

import pytest
import requests

from contracts.support import KafkaTap, ch_count, unique
from harness import clients

pytestmark = pytest.mark.services("backend", "daemon", "telemetry-worker")


def post(e, token, tenant, body):
    return requests.post(f"{e.backend_url}/api/tenants/{tenant}/actions", json=body,
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_committed_action_yields_exactly_one_event(endpoints, acme):
    """A committed action yields exactly one event on internal-tasks, one projection and one OLAP row."""
    tap = KafkaTap(endpoints, "internal-tasks")
    r = post(endpoints, acme.id_token, "acme", {"aggregate_id": unique("order"), "kind": "order.placed", "payload": {}})
    assert r.status_code == 201, r.text
    event_id = r.json()["event_id"]
    doc = clients.eventually(lambda: clients.firestore_doc(endpoints.firestore_host, endpoints.firebase_project,
                                                           f"tenants/acme/events/{event_id}"), timeout=30)
    assert doc, "the action's event was not projected"
    msgs = tap.read(lambda got: False, timeout=4)  # everything produced in a few seconds after the action
    tap.close()
    ids = [json.loads(m.value())["event_id"] for m in msgs]
    assert ids.count(event_id) == 1
    assert clients.eventually(lambda: ch_count(endpoints, f"event_id = '{event_id}'") == 1, timeout=30)


def test_a_rolled_back_action_yields_no_event(endpoints):
    """An action whose transaction rolls back (unknown tenant) yields no event at all."""
    ghost = unique("ghost").replace("_", "-")
    user = clients.sign_in(endpoints.auth_host, endpoints.firebase_project, ghost)
    r = post(endpoints, user.id_token, ghost, {"aggregate_id": "a1", "kind": "order.placed", "payload": {}})
    assert r.status_code == 404, r.text
    # a committed action after it: once that one is projected, the relay has passed the ghost's place in the outbox
    acme = clients.sign_in(endpoints.auth_host, endpoints.firebase_project, "acme")
    later = post(endpoints, acme.id_token, "acme", {"aggregate_id": unique("order"), "kind": "k", "payload": {}})
    assert later.status_code == 201
    assert clients.eventually(lambda: clients.firestore_doc(endpoints.firestore_host, endpoints.firebase_project,
                                                            f"tenants/acme/events/{later.json()['event_id']}"), timeout=30)
    assert clients.firestore_count(endpoints.firestore_host, endpoints.firebase_project, f"tenants/{ghost}", "events") == 0
    assert ch_count(endpoints, f"tenant_id = '{ghost}'", final=False) == 0


def test_per_aggregate_order_is_kept(endpoints, acme):
    """Events of one aggregate reach internal-tasks in the order their actions were committed."""
    aggregate = unique("cart")
    tap = KafkaTap(endpoints, "internal-tasks")
    for i in range(20):
        assert post(endpoints, acme.id_token, "acme",
                    {"aggregate_id": aggregate, "kind": "cart.changed", "payload": {"step": i}}).status_code == 201

    def ours(msgs):
        return [json.loads(m.value()) for m in msgs if json.loads(m.value())["payload"].get("aggregate_id") == aggregate]

    msgs = tap.read(lambda got: len({e["event_id"] for e in ours(got)}) >= 20, timeout=60)
    tap.close()
    steps = []
    for env in ours(msgs):  # a re-published duplicate may repeat a step, never reorder them
        if not steps or steps[-1] != env["payload"]["data"]["step"]:
            steps.append(env["payload"]["data"]["step"])
    assert steps == list(range(20))
