"""deml.envelope (make/validate/encode/decode/tick_id) and deml.clickhouse (ch_datetime, event_row)."""
from __future__ import annotations

import json
import uuid

import pytest

from deml import envelope
from deml.clickhouse import ch_datetime, event_row
from deml.envelope import MAX_PAYLOAD_BYTES, InvalidEnvelope

REQUIRED = ("event_id", "tenant_id", "type", "occurred_at", "source", "schema_version", "payload")
EID = "0b7c3d5e-1f2a-4b6c-8d9e-0a1b2c3d4e5f"


def good(**changes) -> dict:
    env = envelope.make("acme", "action.created", "frontend", {"n": 1}, event_id=EID,
                        occurred_at="2026-11-26T14:00:00.123Z")
    env.update(changes)
    return env


@pytest.mark.parametrize("source", ["frontend", "outbox", "cron", "task"])
def test_make_produces_schema_valid_envelopes(source):
    env = envelope.make("tenant0", "tenant.tick", source, {"bucket": 7})
    assert envelope.validate(env) is env
    assert set(env) == set(REQUIRED)
    assert env["schema_version"] == 1 and env["source"] == source and env["payload"] == {"bucket": 7}
    assert uuid.UUID(env["event_id"]).version == 4
    assert env["occurred_at"].endswith("Z") and len(env["occurred_at"]) == len("2026-11-26T14:00:00.123Z")


def test_make_keeps_given_event_id_and_time():
    env = good()
    assert (env["event_id"], env["occurred_at"]) == (EID, "2026-11-26T14:00:00.123Z")


@pytest.mark.parametrize("field", REQUIRED)
def test_missing_required_field_is_named(field):
    env = good()
    del env[field]
    with pytest.raises(InvalidEnvelope) as exc:
        envelope.validate(env)
    assert exc.value.field == field


BAD = [
    ("extra", {"extra": 1}),
    ("event_id", {"event_id": "not-a-uuid"}),
    ("event_id", {"event_id": EID.upper()}),
    ("event_id", {"event_id": 42}),
    ("tenant_id", {"tenant_id": "Acme"}),
    ("tenant_id", {"tenant_id": "-acme"}),
    ("tenant_id", {"tenant_id": ""}),
    ("tenant_id", {"tenant_id": "a" * 64}),
    ("tenant_id", {"tenant_id": "ac me"}),
    ("type", {"type": "created"}),
    ("type", {"type": "Action.created"}),
    ("type", {"type": "action..created"}),
    ("type", {"type": "a." + "b" * 99}),
    ("occurred_at", {"occurred_at": "2026-11-26 14:00:00Z"}),
    ("occurred_at", {"occurred_at": "2026-11-26T14:00:00"}),
    ("occurred_at", {"occurred_at": "yesterday"}),
    ("source", {"source": "backend"}),
    ("schema_version", {"schema_version": 2}),
    ("schema_version", {"schema_version": "1"}),
    ("payload", {"payload": []}),
    ("payload", {"payload": "{}"}),
    ("payload", {"payload": None}),
]


@pytest.mark.parametrize("field,changes", BAD, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD)])
def test_invalid_field_is_named(field, changes):
    with pytest.raises(InvalidEnvelope) as exc:
        envelope.validate(good(**changes))
    assert exc.value.field == field
    assert str(exc.value).startswith(f"{field}: ")


@pytest.mark.parametrize("not_a_dict", [None, [], "{}", 1])
def test_non_object_envelope(not_a_dict):
    with pytest.raises(InvalidEnvelope) as exc:
        envelope.validate(not_a_dict)
    assert exc.value.field == "(envelope)"


def payload_of_size(n: int) -> dict:
    overhead = len(json.dumps({"x": ""}, separators=(",", ":")))
    return {"x": "a" * (n - overhead)}


def test_payload_at_the_limit_is_accepted():
    assert envelope.validate(good(payload=payload_of_size(MAX_PAYLOAD_BYTES)))["payload"]


def test_payload_over_the_limit_is_rejected():
    with pytest.raises(InvalidEnvelope) as exc:
        envelope.validate(good(payload=payload_of_size(MAX_PAYLOAD_BYTES + 1)))
    assert exc.value.field == "payload"
    assert f"is {MAX_PAYLOAD_BYTES + 1} bytes" in str(exc.value)


@pytest.mark.parametrize("field,value", [
    ("tenant_id", "acme\n"), ("type", "action.created\n"), ("event_id", EID + "\n"),
    ("occurred_at", "2026-11-26T14:00:00Z\n")])
def test_trailing_newline_is_rejected(field, value):
    with pytest.raises(InvalidEnvelope):
        envelope.validate(good(**{field: value}))


@pytest.mark.parametrize("when", ["2026-13-45T25:61:61Z", "2026-02-30T10:00:00Z"])
def test_impossible_occurred_at_is_rejected(when):
    with pytest.raises(InvalidEnvelope) as exc:
        envelope.validate(good(occurred_at=when))
    assert exc.value.field == "occurred_at"


def test_encode_decode_round_trip():
    env = good(payload={"z": [1, 2, {"é": None}], "a": True})
    data = envelope.encode(env)
    assert isinstance(data, bytes)
    assert envelope.decode(data) == env
    assert data.startswith(b'{"event_id":')  # sorted keys, compact separators
    assert b", " not in data and b": " not in data


def test_decode_validates():
    with pytest.raises(InvalidEnvelope) as exc:
        envelope.decode(envelope.encode(good(source="nope")))
    assert exc.value.field == "source"


def test_tick_id_is_deterministic_and_distinct():
    a = envelope.tick_id("acme", 100)
    assert a == envelope.tick_id("acme", 100)
    assert uuid.UUID(a).version == 5
    assert envelope.validate(good(event_id=a))["event_id"] == a
    ids = {envelope.tick_id(t, b) for t in ("acme", "tenant0", "beta") for b in (99, 100, 101)}
    assert len(ids) == 9


@pytest.mark.parametrize("iso,expected", [
    ("2026-11-26T14:00:00.123Z", "2026-11-26 14:00:00"),
    ("2026-11-26T14:00:00.999Z", "2026-11-26 14:00:00"),  # truncated, not rounded
    ("2026-11-26T14:00:00Z", "2026-11-26 14:00:00"),
    ("2026-11-26T14:00:00+02:00", "2026-11-26 12:00:00"),
    ("2026-01-01T01:30:00.5+02:00", "2025-12-31 23:30:00"),
    ("2026-12-31T20:00:00-05:00", "2027-01-01 01:00:00"),
    ("2026-11-26T14:00:00+00:00", "2026-11-26 14:00:00"),
])
def test_ch_datetime_converts_to_utc(iso, expected):
    assert ch_datetime(iso) == expected


def test_event_row():
    env = good(occurred_at="2026-11-26T16:00:00.250+02:00", payload={"b": 1, "a": {"d": 2, "c": [3, "x"]}})
    assert event_row(env) == {
        "event_id": EID, "tenant_id": "acme", "type": "action.created", "source": "frontend",
        "occurred_at": "2026-11-26 14:00:00", "payload": '{"a":{"c":[3,"x"],"d":2},"b":1}', "version": 1}
