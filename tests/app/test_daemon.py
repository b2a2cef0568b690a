"""deml.roles.daemon pure parts: tick_events (Tenant0 symmetry) and relay_once with fake Postgres/producer."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

from deml import envelope, faults
from deml.kafka import INTERNAL_TASKS
from deml.roles import daemon

TENANTS = ["tenant0", "acme", "beta-2"]


def test_one_tick_per_tenant_tenant0_included():
    events = daemon.tick_events(TENANTS, 1234)
    assert [e["tenant_id"] for e in events] == TENANTS
    for e in events:
        assert envelope.validate(e) is e
        assert (e["type"], e["source"], e["payload"]) == ("tenant.tick", "cron", {"bucket": 1234})
        assert e["event_id"] == envelope.tick_id(e["tenant_id"], 1234)


def test_tenant0_symmetry():
    """Normalise the per-tenant fields away: the ticks are otherwise identical (modulo clock drift)."""
    events = daemon.tick_events(TENANTS, 99)
    normalised = [{**e, "tenant_id": "T", "event_id": "E", "occurred_at": "AT"} for e in events]
    assert all(n == normalised[0] for n in normalised)
    assert len({e["event_id"] for e in events}) == len(TENANTS)


def test_ticks_are_repeatable_per_bucket():
    first, again, later = (daemon.tick_events(TENANTS, b) for b in (5, 5, 6))
    assert [e["event_id"] for e in first] == [e["event_id"] for e in again]
    assert not {e["event_id"] for e in first} & {e["event_id"] for e in later}


def test_no_tenants_no_ticks():
    assert daemon.tick_events([], 1) == []


# ---- relay_once with fakes ------------------------------------------------------------------------------

class FakeResult:
    def __init__(self, rows):
        self.rows = rows

    def fetchall(self):
        return list(self.rows)


class FakeConn:
    """psycopg-like: transaction() context manager; execute(sql, params) → result with fetchall()."""

    def __init__(self, rows):
        self.rows = rows
        self.log: list = []  # ("begin"|"commit"|"rollback") and ("execute", sql, params)

    @contextmanager
    def transaction(self):
        self.log.append("begin")
        try:
            yield
        except BaseException:
            self.log.append("rollback")
            raise
        self.log.append("commit")

    def execute(self, sql, params=None):
        self.log.append(("execute", sql, params))
        return FakeResult(self.rows if sql.lstrip().upper().startswith("SELECT") else [])

    def updates(self):
        return [x for x in self.log if isinstance(x, tuple) and x[1].lstrip().upper().startswith("UPDATE")]


class FakeProducer:
    def __init__(self, unacked: int = 0, error=None):
        self.produced: list[dict] = []
        self.unacked, self.error = unacked, error

    def produce(self, topic, key=None, value=None, on_delivery=None):
        self.produced.append({"topic": topic, "key": key, "value": value, "on_delivery": on_delivery})

    def flush(self, timeout=None):
        for p in self.produced:
            p["on_delivery"](self.error, object())
        return self.unacked


def outbox_rows():
    t = datetime(2026, 11, 26, 14, 0, 0, 123456, tzinfo=timezone.utc)
    return [  # seq, event_id, tenant_id, aggregate_id, type, payload, occurred_at
        (11, uuid.UUID(int=11), "acme", "a-1", "action.created", {"n": 1}, t),
        (12, uuid.UUID(int=12), "tenant0", "a-2", "action.created", {"n": 2}, t + timedelta(seconds=1)),
        (13, uuid.UUID(int=13), "acme", "a-3", "action.created", {"n": 3},
         (t + timedelta(seconds=2)).astimezone(timezone(timedelta(hours=2)))),
    ]


@pytest.fixture(autouse=True)
def no_faults(monkeypatch):
    """No fault injection, whatever DEML_FAULTS said when deml.faults was imported (it reads it once, then)."""
    monkeypatch.setattr(faults, "FAULTS", {})
    monkeypatch.setattr(faults, "_seen", {})
    monkeypatch.setattr(faults, "_due", {})


def test_relay_produces_each_row_once_in_seq_order_then_marks():
    conn, prod = FakeConn(outbox_rows()), FakeProducer()
    assert daemon.relay_once(conn, prod) == 3
    assert [p["topic"] for p in prod.produced] == [INTERNAL_TASKS] * 3
    assert [p["key"] for p in prod.produced] == [b"acme", b"tenant0", b"acme"]
    envs = [envelope.decode(p["value"]) for p in prod.produced]
    assert [e["event_id"] for e in envs] == [str(uuid.UUID(int=n)) for n in (11, 12, 13)]
    assert [e["payload"] for e in envs] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert {e["source"] for e in envs} == {"outbox"}
    assert [e["occurred_at"] for e in envs] == ["2026-11-26T14:00:00.123Z", "2026-11-26T14:00:01.123Z",
                                                "2026-11-26T16:00:02.123+02:00"]
    updates = conn.updates()
    assert len(updates) == 1 and updates[0][2] == ([11, 12, 13],)
    assert conn.log[-2:] == [updates[0], "commit"]  # marked inside the claiming transaction, last


def test_relay_marks_only_after_flush():
    conn = FakeConn(outbox_rows())

    class Watching(FakeProducer):
        def flush(self, timeout=None):
            assert conn.updates() == [], "marked before the acknowledgements"
            self.flushed_at = len(conn.log)
            return super().flush(timeout)

    prod = Watching()
    daemon.relay_once(conn, prod)
    assert conn.log.index(conn.updates()[0]) >= prod.flushed_at


def test_the_broken_variant_marks_before_producing(monkeypatch):
    """The fixture above really switches faults off: switched on here, the relay's BROKEN variant marks first."""
    monkeypatch.setattr(faults, "FAULTS", {"relay_mark_before_produce": 1.0})
    conn, marked_at_flush = FakeConn(outbox_rows()), []

    class Watching(FakeProducer):
        def flush(self, timeout=None):
            marked_at_flush.append(len(conn.updates()))
            return super().flush(timeout)

    assert daemon.relay_once(conn, Watching()) == 3
    assert marked_at_flush == [1], "the broken variant should have marked the rows before producing them"


def test_relay_nothing_to_do():
    conn, prod = FakeConn([]), FakeProducer()
    assert daemon.relay_once(conn, prod) == 0
    assert prod.produced == [] and conn.updates() == []


@pytest.mark.parametrize("prod", [FakeProducer(unacked=2), FakeProducer(error="KafkaError{BROKER_NOT_AVAILABLE}")],
                         ids=["unacknowledged", "delivery-error"])
def test_relay_does_not_mark_without_acks(prod):
    conn = FakeConn(outbox_rows())
    with pytest.raises(RuntimeError, match="relay: .* unacknowledged"):
        daemon.relay_once(conn, prod)
    assert len(prod.produced) == 3
    assert conn.updates() == []
    assert conn.log[-1] == "rollback"
