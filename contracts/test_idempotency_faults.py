"""Idempotency under faults: thousands of events, counted exactly in Firestore and ClickHouse.

Each fault is real: the relay or the worker exits abruptly between its two steps (DEML_FAULTS, off in every
rendered topology; the container's restart policy brings it back), the broker container is restarted, the
cache is flushed. Zero lost, zero double-counted. The `check_*` functions are also run against deliberately
broken variants (tests/test_contracts_catch_broken_variants.py) to show each contract can fail.
"""
from __future__ import annotations

import threading

import pytest

from contracts.support import (act_many, ch_count, counter, firestore_count_where, high_watermarks, ingest_many,
                               page_views, settle, unique, wait_committed)

pytestmark = [pytest.mark.control]


def check_relay_crash_absorbed(stack, e, token: str, n: int, variant: dict | None = None,
                               timeout: float | None = None) -> dict:
    """n actions while the relay exits between produce and mark (at the first batch after n/4 rows relayed in a
    process, so 3 to 4 times: each crash costs a container restart, and Docker's restart back-off doubles while
    crashes come faster than every 10 s); exact counts after."""
    faults = {"DEML_FAULTS": f"relay_crash_between@{max(1, n // 4)}", "RELAY_BATCH": "50"} | (variant or {})
    kind = unique("relay")
    before = counter(e, "acme", "by_source", "outbox")
    stack.set_env("daemon", faults)
    restarts = stack.restart_count("daemon")  # after set_env: a recreated container's count starts again at 0
    try:
        act_many(e, token, "acme", [{"aggregate_id": f"{kind}-{i % 10}", "kind": kind, "payload": {"i": i}}
                                    for i in range(n)])
        projected = settle(lambda: firestore_count_where(e, "tenants/acme", "events", "payload.kind", kind), n,
                           timeout=timeout or max(120, n / 10))
        fired = stack.restart_count("daemon") - restarts
    finally:
        stack.set_env("daemon", {})
    olap = settle(lambda: ch_count(e, f"tenant_id = 'acme' AND payload LIKE '%\"kind\":\"{kind}\"%'"), n,
                  timeout=timeout or 60)
    counted = counter(e, "acme", "by_source", "outbox") - before
    assert fired > 0, "the fault never fired: this run proves nothing"
    assert (projected, olap) == (n, n), f"expected {n} projections and rows, saw {projected} and {olap}"
    assert counted == n, f"counter by_source.outbox moved by {counted} for {n} actions"  # contracts run one at a time
    return {"restarts": fired, "projected": projected, "olap": olap, "counted": counted}


def check_worker_crash_absorbed(stack, e, token: str, n: int, variant: dict | None = None,
                                timeout: float | None = None) -> dict:
    """n ingested events while the worker exits after writing, before the offset commit (at the first batch after
    n/4 new events in a process, after the Firestore transaction or after the ClickHouse rows; batches of at most
    n/8, so it fires, 2 to 3 times)."""
    faults = {"DEML_FAULTS": f"worker_crash_before_commit@{max(1, n // 4)}",
              "WORKER_BATCH": str(max(1, n // 8))} | (variant or {})
    type_ = f"contract.{unique('worker')}"
    stack.set_env("telemetry-worker", faults)
    restarts = stack.restart_count("telemetry-worker")  # after set_env: a recreated container's count starts again at 0
    try:
        ingest_many(e, token, page_views(n, type_))
        marks = high_watermarks(e)  # every acknowledged event under test lies below these offsets
        projected = settle(lambda: firestore_count_where(e, "tenants/acme", "events", "type", type_), n,
                           timeout=timeout or max(120, n / 10))
        # a crash on the last batch is redelivered only after the restart back-off: wait for the group's commit
        # past every event under test, or a late double count would show after the counter was read
        wait_committed(e, marks, timeout=timeout or max(120, n / 10))
        counted = settle(lambda: counter(e, "acme", "by_type", type_.replace(".", "_")), n, timeout=30)
        fired = stack.restart_count("telemetry-worker") - restarts
    finally:
        stack.set_env("telemetry-worker", {})
    olap = settle(lambda: ch_count(e, f"type = '{type_}'"), n, timeout=60)
    assert fired > 0, "the fault never fired: this run proves nothing"
    assert projected == n, f"expected {n} projections, saw {projected}"
    assert counted == n, f"counter by_type.{type_} is {counted} for {n} events: double-counted or lost"
    assert olap == n, f"expected {n} ClickHouse rows (FINAL), saw {olap}"
    return {"restarts": fired, "projected": projected, "counted": counted, "olap": olap}


@pytest.mark.services("daemon", "telemetry-worker")
def test_relay_killed_between_produce_and_mark_loses_and_doubles_nothing(stack, endpoints, acme, events_per_fault):
    """Relay killed between produce and mark: every action is projected exactly once."""
    check_relay_crash_absorbed(stack, endpoints, acme.id_token, events_per_fault)


@pytest.mark.services("telemetry-worker")
def test_worker_killed_before_the_offset_commit_double_counts_nothing(stack, endpoints, acme, events_per_fault):
    """Worker killed between the Firestore write and the offset commit: zero lost, zero double-counted."""
    check_worker_crash_absorbed(stack, endpoints, acme.id_token, events_per_fault)


@pytest.mark.services("redpanda", "firebase", "telemetry-worker")
def test_broker_restarted_mid_stream_loses_no_acknowledged_event(stack, endpoints, acme, events_per_fault):
    """Broker restarted mid-stream: every acknowledged event is projected exactly once."""
    type_ = f"contract.{unique('broker')}"
    events = page_views(events_per_fault, type_)
    results: list = []
    worker = threading.Thread(target=lambda: results.extend(ingest_many(endpoints, acme.id_token, events)))
    worker.start()
    settle(lambda: firestore_count_where(endpoints, "tenants/acme", "events", "type", type_), len(events) // 3,
           timeout=120, quiet=0)
    stack.restart("redpanda")
    worker.join(timeout=900)
    assert len(results) == len(events), "not every event was acknowledged"
    n = len(events)
    assert settle(lambda: firestore_count_where(endpoints, "tenants/acme", "events", "type", type_), n,
                  timeout=max(120, n / 10)) == n
    assert settle(lambda: counter(endpoints, "acme", "by_type", type_.replace(".", "_")), n, timeout=30) == n
    assert settle(lambda: ch_count(endpoints, f"type = '{type_}'"), n, timeout=60) == n


@pytest.mark.services("dragonfly", "telemetry-worker")
def test_dragonfly_flushed_mid_stream_changes_no_count(stack, endpoints, acme, events_per_fault):
    """Dragonfly flushed mid-stream: the cache is a fast path only; counts stay exact."""
    from harness.runtime.docker import run

    def redis_cli(*args: str) -> str:  # inside the cache's container: on aws-emulation it is not published
        return run(["docker", "exec", stack.compose.container_id("dragonfly"), "redis-cli", *args]).stdout.strip()

    type_ = f"contract.{unique('cache')}"
    n = events_per_fault
    events = page_views(n, type_)
    ingest_many(endpoints, acme.id_token, events[: n // 2])
    settle(lambda: firestore_count_where(endpoints, "tenants/acme", "events", "type", type_), n // 2, timeout=120, quiet=0)
    assert int(redis_cli("dbsize")) > 0, "the worker does not use the cache: flushing it would prove nothing"
    assert redis_cli("flushall") == "OK"
    # redeliver the first half too (a client retry with the same event ids): the markers must absorb them
    ingest_many(endpoints, acme.id_token, events)
    assert settle(lambda: firestore_count_where(endpoints, "tenants/acme", "events", "type", type_), n,
                  timeout=max(120, n / 10)) == n
    assert settle(lambda: counter(endpoints, "acme", "by_type", type_.replace(".", "_")), n, timeout=30) == n
    assert settle(lambda: ch_count(endpoints, f"type = '{type_}'"), n, timeout=60) == n
