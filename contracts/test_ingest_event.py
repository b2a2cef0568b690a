"""ingestEvent: the Firebase callable protocol, the tenant claim, the envelope, and the broker's ack."""
from __future__ import annotations

import json
import uuid

import pytest

from contracts.support import KafkaTap
from harness.testing import clients

pytestmark = pytest.mark.services("firebase")


def test_a_valid_call_is_answered_with_the_event_on_frontend_events_under_the_tenant_key(endpoints, acme):
    """A valid call is answered {result: {event_id, partition, offset}} and the event is on frontend-events under the tenant key."""
    tap = KafkaTap(endpoints, "frontend-events")
    event_id = str(uuid.uuid4())
    r = clients.call(endpoints.functions_url, endpoints.firebase_project, "ingestEvent",
                     {"event_id": event_id, "type": "page.view", "payload": {"path": "/pricing"}}, acme.id_token)
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["event_id"] == event_id and isinstance(result["partition"], int) and result["offset"] >= 0
    msgs = tap.read(lambda got: any(m.offset() == result["offset"] and m.partition() == result["partition"] for m in got))
    tap.close()
    match = [m for m in msgs if m.partition() == result["partition"] and m.offset() == result["offset"]]
    assert match, "the acknowledged offset holds no message"
    assert match[0].key() == b"acme"
    body = json.loads(match[0].value())
    assert body["event_id"] == event_id and body["tenant_id"] == "acme" and body["source"] == "frontend"


def test_no_token_is_unauthenticated(endpoints):
    """A call without an ID token gets UNAUTHENTICATED with HTTP 401."""
    r = clients.call(endpoints.functions_url, endpoints.firebase_project, "ingestEvent",
                     {"type": "page.view", "payload": {}})
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"


def test_bad_token_is_unauthenticated(endpoints):
    """A call with a forged ID token gets UNAUTHENTICATED with HTTP 401."""
    r = clients.call(endpoints.functions_url, endpoints.firebase_project, "ingestEvent",
                     {"type": "page.view", "payload": {}}, id_token="not-a-token")
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("data, field", [
    ({"payload": {}}, "type"),
    ({"type": "Page View", "payload": {}}, "type"),
    ({"type": "page.view", "payload": "text"}, "payload"),
    ({"type": "page.view", "payload": {}, "event_id": "42"}, "event_id"),
    ({"type": "page.view", "payload": {}, "color": "red"}, "color"),
    ({"type": "page.view", "payload": {"blob": "x" * 20000}}, "payload"),
], ids=["missing-type", "bad-type", "payload-not-object", "bad-event-id", "unknown-field", "payload-too-large"])
def test_a_bad_envelope_is_invalid_argument_naming_the_field(endpoints, acme, data, field):
    """A bad envelope gets INVALID_ARGUMENT with HTTP 400, naming the offending field."""
    r = clients.call(endpoints.functions_url, endpoints.firebase_project, "ingestEvent", data, acme.id_token)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["details"]["field"] == field


def test_another_tenants_event_is_permission_denied(endpoints, acme):
    """A caller cannot ingest for another tenant: PERMISSION_DENIED with HTTP 403."""
    r = clients.call(endpoints.functions_url, endpoints.firebase_project, "ingestEvent",
                     {"type": "page.view", "payload": {}, "tenant_id": "globex"}, acme.id_token)
    assert r.status_code == 403 and r.json()["error"]["status"] == "PERMISSION_DENIED"
