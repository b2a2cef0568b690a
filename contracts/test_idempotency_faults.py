"""Idempotency under faults: thousands of events, counted exactly in Firestore and ClickHouse.

Each fault is real: the relay or the worker exits abruptly between its two steps (DEML_FAULTS, off in every
rendered topology; the container's restart policy brings it back), the broker container is restarted, the
cache is flushed. Zero lost, zero double-counted. The `check_*` functions are also run against deliberately
broken variants (tests/test_contracts_catch_broken_variants.py) to show each contract can fail.
"""
from __future__ import annotations

import threading

import pytest

from contracts.support import (Laps, act_many, ch_count, counter, exact, fault_log_lines, firestore_count_where, ingest_many,
                               page_views, reach, unique)

pytestmark = [pytest.mark.control]


def check_relay_crash_absorbed(stack, e, token: str, n: int, variant: dict | None = None,
                               timeout: float | None = None, cache: bool = True) -> dict:
    """n actions while the relay exits between produce and mark (at the first batch after n/4 rows relayed in a
    process, so 3 to 4 times); exact counts once the outbox is drained and the worker has committed past it.
    cache=False runs the telemetry worker with its cache unreachable (DRAGONFLY_HOST pointed at the worker's own
    loopback, where nothing listens: every lookup fails, as in a cache outage): the re-published duplicates must
    then be absorbed by the processed markers in Firestore, not by the cache's fast path."""
    faults = {"DEML_FAULTS": f"relay_crash_between@{max(1, n // 4)}", "RELAY_BATCH": "50"} | (variant or {})
    kind = unique("relay")
    wait = timeout or max(120, n / 10)
    before = counter(e, "acme", "by_source", "outbox")
    laps = Laps()
    if not cache:
        stack.set_env("telemetry-worker", {"DRAGONFLY_HOST": "127.0.0.1"})
    stack.set_env("daemon", faults)
    laps.lap("fault on")
    try:
        act_many(e, token, "acme", [{"aggregate_id": f"{kind}-{i % 10}", "kind": kind, "payload": {"i": i}}
                                    for i in range(n)])
        laps.lap("load")
        projected = exact(e, lambda: firestore_count_where(e, "tenants/acme", "events", "payload.kind", kind), n,
                          timeout=wait, outbox=True)
        laps.lap("projected and drained")
        fired = fault_log_lines(stack, "daemon", "relay_crash_between")
    finally:
        stack.set_env("daemon", {})
        if not cache:
            stack.set_env("telemetry-worker", {})
        laps.lap("fault off")
    print(f"checked: {n} actions, relay crashed {fired} times; {laps}")
    laps.emit()
    olap = ch_count(e, f"tenant_id = 'acme' AND payload LIKE '%\"kind\":\"{kind}\"%'")
    counted = counter(e, "acme", "by_source", "outbox") - before
    assert fired > 0, "the relay never logged the fault relay_crash_between: this run proves nothing"
    assert (projected, olap) == (n, n), f"expected {n} projections and rows, saw {projected} and {olap}"
    assert counted == n, f"counter by_source.outbox moved by {counted} for {n} actions"  # contracts run one at a time
    return {"faults": fired, "projected": projected, "olap": olap, "counted": counted}


def check_worker_crash_absorbed(stack, e, token: str, n: int, variant: dict | None = None,
                                timeout: float | None = None) -> dict:
    """n ingested events while the worker exits after writing, before the offset commit (at the first batch after
    n/4 new events in a process, after the Firestore transaction or after the ClickHouse rows; batches of at most
    n/8, so it fires, 2 to 3 times); exact counts once the group has committed past every event under test."""
    faults = {"DEML_FAULTS": f"worker_crash_before_commit@{max(1, n // 4)}",
              "WORKER_BATCH": str(max(1, n // 8))} | (variant or {})
    type_ = f"contract.{unique('worker')}"
    wait = timeout or max(120, n / 10)
    laps = Laps()
    stack.set_env("telemetry-worker", faults)
    laps.lap("fault on")
    try:
        ingest_many(e, token, page_views(n, type_))
        laps.lap("load")
        projected = exact(e, lambda: firestore_count_where(e, "tenants/acme", "events", "type", type_), n, timeout=wait)
        laps.lap("projected and drained")
        fired = fault_log_lines(stack, "telemetry-worker", "worker_crash_before_commit")
    finally:
        stack.set_env("telemetry-worker", {})
        laps.lap("fault off")
    print(f"checked: {n} events, worker crashed {fired} times; {laps}")
    laps.emit()
    counted = counter(e, "acme", "by_type", type_.replace(".", "_"))
    olap = ch_count(e, f"type = '{type_}'")
    assert fired > 0, "the worker never logged the fault worker_crash_before_commit: this run proves nothing"
    assert projected == n, f"expected {n} projections, saw {projected}"
    assert counted == n, f"counter by_type.{type_} is {counted} for {n} events: double-counted or lost"
    assert olap == n, f"expected {n} ClickHouse rows (FINAL), saw {olap}"
    return {"faults": fired, "projected": projected, "counted": counted, "olap": olap}


def check_broker_restart_absorbed(stack, e, token: str, n: int) -> dict:
    """n events through ingestEvent while the broker container restarts after a third are projected; events must
    be acknowledged both before and after the restart (mid-stream), and every acknowledged one is counted once."""
    type_ = f"contract.{unique('broker')}"
    events = page_views(n, type_)
    acked = {"before": 0, "during": 0, "after": 0}
    phase = ["before"]
    lock = threading.Lock()

    def on_ack(_ev):
        with lock:
            acked[phase[0]] += 1

    results: list = []
    laps = Laps()
    worker = threading.Thread(target=lambda: results.extend(ingest_many(e, token, events, on_ack=on_ack)))
    worker.start()
    reach(lambda: firestore_count_where(e, "tenants/acme", "events", "type", type_), n // 3, timeout=120)
    laps.lap("a third projected")
    with lock:
        phase[0] = "during"
    stack.restart("redpanda")
    laps.lap("broker restart")
    with lock:
        phase[0] = "after"
    worker.join(timeout=900)
    laps.lap("rest acknowledged")
    assert len(results) == n, f"{n - len(results)} of {n} events were never acknowledged"
    assert acked["before"] > 0 and acked["after"] > 0, \
        f"the restart was not mid-stream: acknowledged {acked['before']} before, {acked['after']} after it"
    wait = max(120, n / 10)
    projected = exact(e, lambda: firestore_count_where(e, "tenants/acme", "events", "type", type_), n, timeout=wait)
    laps.lap("projected and drained")
    counted = counter(e, "acme", "by_type", type_.replace(".", "_"))
    olap = ch_count(e, f"type = '{type_}'")
    print(f"checked: {n} events, acknowledged {acked['before']} before / {acked['during']} during / "
          f"{acked['after']} after the restart; {laps}")
    laps.emit()
    assert (projected, counted, olap) == (n, n, n), \
        f"{n} acknowledged events: {projected} projected, counter {counted}, {olap} ClickHouse rows"
    return {"acked": acked, "projected": projected, "counted": counted, "olap": olap}


def check_cache_flush_absorbed(stack, e, token: str, n: int, variant: dict | None = None) -> dict:
    """Half the events, a FLUSHALL of the worker's cache, then all n again (the first half redelivered with the
    same ids, as a client retry would): exactly n counted. variant: extra worker environment (broken variants)."""
    from harness.testing import run

    def redis_cli(*args: str) -> str:  # inside the cache's container: on aws-emulation it is not published
        return run(["docker", "exec", stack.compose.container_id("dragonfly"), "redis-cli", *args]).stdout.strip()

    type_ = f"contract.{unique('cache')}"
    events = page_views(n, type_)
    laps = Laps()
    if variant:
        stack.set_env("telemetry-worker", variant)
    try:
        ingest_many(e, token, events[: n // 2])
        laps.lap("first half")
        first = exact(e, lambda: firestore_count_where(e, "tenants/acme", "events", "type", type_), n // 2)
        laps.lap("projected and drained")
        cached = int(redis_cli("dbsize"))
        assert cached > 0, "the worker does not use the cache: flushing it would prove nothing"
        assert redis_cli("flushall") == "OK"  # (no DBSIZE check after it: cron ticks keep landing in the cache)
        laps.lap("flush")
        ingest_many(e, token, events)
        laps.lap("all again")
        projected = exact(e, lambda: firestore_count_where(e, "tenants/acme", "events", "type", type_), n,
                          timeout=max(120, n / 10))
        laps.lap("projected and drained")
    finally:
        if variant:
            stack.set_env("telemetry-worker", {})
    print(f"checked: {n} events, {cached} cache keys flushed, first half sent twice; {laps}")
    laps.emit()
    counted = counter(e, "acme", "by_type", type_.replace(".", "_"))
    olap = ch_count(e, f"type = '{type_}'")
    assert (projected, counted, olap) == (n, n, n), \
        (f"{n} distinct events ({n // 2} sent twice around the flush): {projected} projected, counter {counted}, "
         f"{olap} ClickHouse rows: double-counted or lost")
    return {"first_half": first, "cached_before_flush": cached, "projected": projected, "counted": counted,
            "olap": olap}


@pytest.mark.services("daemon", "telemetry-worker")
@pytest.mark.parametrize("cache", [True, False], ids=["cache-warm", "cache-cold"])
def test_relay_killed_between_produce_and_mark_loses_and_doubles_nothing(stack, endpoints, acme, events_per_fault,
                                                                         cache):
    """Relay killed between produce and mark (worker with and without its cache): every action projected once."""
    check_relay_crash_absorbed(stack, endpoints, acme.id_token, events_per_fault, cache=cache)


@pytest.mark.services("telemetry-worker")
def test_worker_killed_before_the_offset_commit_double_counts_nothing(stack, endpoints, acme, events_per_fault):
    """Worker killed between the Firestore write and the offset commit: zero lost, zero double-counted."""
    check_worker_crash_absorbed(stack, endpoints, acme.id_token, events_per_fault)


@pytest.mark.services("redpanda", "firebase", "telemetry-worker")
def test_broker_restarted_mid_stream_loses_no_acknowledged_event(stack, endpoints, acme, events_per_fault):
    """Broker restarted mid-stream: every acknowledged event is projected exactly once."""
    check_broker_restart_absorbed(stack, endpoints, acme.id_token, events_per_fault)


@pytest.mark.services("dragonfly", "telemetry-worker")
def test_dragonfly_flushed_mid_stream_changes_no_count(stack, endpoints, acme, events_per_fault):
    """Dragonfly flushed mid-stream: the cache is a fast path only; counts stay exact."""
    check_cache_flush_absorbed(stack, endpoints, acme.id_token, events_per_fault)
