"""An end-to-end test of the reference platform, written as a user of topo would write it: only the public API
(the `topo` pytest plugin's `topo_environment` fixture and `harness.testing`), nothing from topo's internals.

The whole topology comes up once per session (an ephemeral compose project on shifted 127.0.0.1 ports, torn down
at the end, every service's logs kept in reports/logs/PROJECT/ when a test failed). Choose another host or a
subset without touching this file:

    .venv/bin/python -m pytest examples/own-tests/test_end_to_end.py                      # compose
    .venv/bin/python -m pytest examples/own-tests/test_end_to_end.py --topo-target railway-emulation
    TOPO_TARGET=aws-emulation .venv/bin/python -m pytest examples/own-tests/
"""
from __future__ import annotations

import uuid

import pytest
import requests

from harness.testing import clients

pytestmark = pytest.mark.docker


def test_an_event_ingested_through_the_callable_is_projected_for_its_tenant(topo_environment):
    env = topo_environment
    user = env.sign_in("acme")
    event_id = str(uuid.uuid4())

    r = env.call("ingestEvent", {"event_id": event_id, "type": "page.view", "payload": {"path": "/own-test"}},
                 user.id_token)
    assert r.status_code == 200, r.text

    projection = clients.eventually(lambda: env.firestore_doc(f"tenants/acme/events/{event_id}"), timeout=60)
    assert projection, "the event never reached the tenant's Firestore projection"
    assert projection["fields"]["type"]["stringValue"] == "page.view"
    rows = clients.eventually(lambda: env.clickhouse(
        f"SELECT tenant_id, type FROM deml.events FINAL WHERE event_id = '{event_id}'"), timeout=60)
    assert rows == [{"tenant_id": "acme", "type": "page.view"}]


def test_the_same_event_sent_twice_is_projected_once(topo_environment):
    env = topo_environment
    user = env.sign_in("acme")
    event_id = str(uuid.uuid4())
    for _ in range(2):
        r = env.call("ingestEvent", {"event_id": event_id, "type": "page.view", "payload": {"path": "/twice"}},
                     user.id_token)
        assert r.status_code == 200, r.text
    assert clients.eventually(lambda: env.firestore_doc(f"tenants/acme/events/{event_id}"), timeout=60)
    rows = clients.eventually(lambda: env.clickhouse(
        f"SELECT count() AS n FROM deml.events FINAL WHERE event_id = '{event_id}'"), timeout=60)
    assert rows == [{"n": "1"}] or rows == [{"n": 1}], rows


def test_a_backend_action_goes_through_the_outbox_to_the_projection(topo_environment):
    env = topo_environment
    user = env.sign_in("acme")
    r = requests.post(f"{env.endpoints.backend_url}/api/tenants/acme/actions",
                      json={"aggregate_id": f"order-{uuid.uuid4().hex[:8]}", "kind": "order.placed", "payload": {}},
                      headers={"Authorization": f"Bearer {user.id_token}"}, timeout=30)
    assert r.status_code == 201, r.text
    event_id = r.json()["event_id"]
    with env.postgres() as db:
        assert db.execute("SELECT tenant_id FROM outbox WHERE event_id = %s", (event_id,)).fetchall() == [("acme",)]
    assert clients.eventually(lambda: env.firestore_doc(f"tenants/acme/events/{event_id}"), timeout=90), \
        "the action's event never reached the projection (relay → internal-tasks → telemetry worker)"


def test_another_tenants_token_cannot_act_for_acme(topo_environment):
    env = topo_environment
    intruder = env.sign_in("globex")
    r = requests.post(f"{env.endpoints.backend_url}/api/tenants/acme/actions",
                      json={"aggregate_id": "order-x", "kind": "order.placed", "payload": {}},
                      headers={"Authorization": f"Bearer {intruder.id_token}"}, timeout=30)
    assert r.status_code == 403, r.text
