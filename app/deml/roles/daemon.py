"""daemon: the outbox relay, the cron publisher and the health pinger (three loops, one process).

Relay: claim unpublished outbox rows with FOR UPDATE SKIP LOCKED, produce them (idempotent producer, acks=all),
wait for the acknowledgements, then mark them published — in that order. A crash between produce and mark leaves
the rows unpublished: they are produced again with the same event_id, and consumers absorb the duplicate.

Cron: every tick, for EVERY tenant in Postgres — Tenant0 included, the same loop, no tenant-specific branch —
publish `tenant.tick` to internal-tasks, with an event id derived from (tenant, tick) so a repeat is a duplicate.
"""
from __future__ import annotations

import logging
import threading
import time

import psycopg
import requests

from deml import envelope, faults
from deml.config import Config, tunable
from deml.kafka import INTERNAL_TASKS, producer
from deml.process import Lifecycle, health_routes, serve

log = logging.getLogger("deml.daemon")


def _claim(conn: psycopg.Connection, batch: int) -> list:
    return conn.execute(
        "SELECT seq, event_id, tenant_id, aggregate_id, type, payload, occurred_at FROM outbox "
        "WHERE published_at IS NULL ORDER BY seq LIMIT %s FOR UPDATE SKIP LOCKED", (batch,)).fetchall()


def _produce(prod, rows: list) -> None:
    failures: list = []
    for seq, event_id, tenant, aggregate_id, type_, payload, occurred_at in rows:
        env = envelope.make(tenant, type_, "outbox", payload, event_id=str(event_id),
                            occurred_at=occurred_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
        # keyed by tenant: per-aggregate order holds (one tenant → one partition, produced in seq order)
        prod.produce(INTERNAL_TASKS, key=tenant.encode(), value=envelope.encode(env),
                     on_delivery=lambda err, msg: failures.append(err) if err else None)
    left = prod.flush(30)
    if left or failures:
        raise RuntimeError(f"relay: {left} unacknowledged, {len(failures)} failed: {failures[:1]}")


def relay_once(conn: psycopg.Connection, prod, batch: int = 200) -> int:
    """Claim a batch, produce it, wait for every acknowledgement, then mark it — one transaction, so a crash
    anywhere before the commit leaves the rows unpublished (re-published later with the same event ids)."""
    if faults.active("relay_mark_before_produce"):
        return _relay_once_broken(conn, prod, batch)
    with conn.transaction():
        rows = _claim(conn, batch)
        if not rows:
            return 0
        _produce(prod, rows)
        if faults.fires("relay_crash_between", len(rows)):
            faults.crash("relay_crash_between", f"{len(rows)} rows produced, not marked: they are re-published")
        mark(conn, [r[0] for r in rows])
    return len(rows)


def _relay_once_broken(conn: psycopg.Connection, prod, batch: int) -> int:
    """BROKEN variant (contract suite only): marks and commits first, produces after — a crash in between
    loses the batch."""
    with conn.transaction():
        rows = _claim(conn, batch)
        if rows:
            mark(conn, [r[0] for r in rows])
    if not rows:
        return 0
    if faults.fires("relay_crash_between", len(rows)):
        faults.crash("relay_crash_between", f"{len(rows)} rows marked, not produced: they are lost")
    _produce(prod, rows)
    return len(rows)


def mark(conn: psycopg.Connection, seqs: list[int]) -> None:
    conn.execute("UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE seq = ANY(%s)", (seqs,))


def tenants(conn: psycopg.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT id FROM tenants ORDER BY id").fetchall()]


def tick_events(tenant_ids: list[str], bucket: int) -> list[dict]:
    """The same event for every tenant: no branch on Tenant0 or any other id."""
    return [envelope.make(t, "tenant.tick", "cron", {"bucket": bucket}, event_id=envelope.tick_id(t, bucket))
            for t in tenant_ids]


def run(cfg: Config, life: Lifecycle, port: int) -> None:
    conninfo = dict(conninfo=cfg["DATABASE_URL"], password=cfg["DATABASE_PASSWORD"], connect_timeout=5)
    shared = {"producer": producer(cfg)}
    interval = tunable("CRON_INTERVAL_SECONDS", 10.0)

    def renew_if_fatal(exc: Exception) -> None:
        """An idempotent producer that hit a fatal error (e.g. InitProducerId refused by the authorizer before the
        ACLs existed) refuses every later message: replace it, or the relay and cron stay broken until a restart."""
        if "_FATAL" in str(exc) or "Fatal error" in str(exc):
            log.error("producer hit a fatal error, replacing it: %s", exc)
            shared["producer"] = producer(cfg)
    relay_idle = tunable("RELAY_POLL_SECONDS", 0.2)

    def relay_loop() -> None:
        conn = None
        while not life.stop.is_set():
            try:
                conn = conn if conn is not None and not conn.closed else psycopg.connect(**conninfo)
                n = relay_once(conn, shared["producer"], int(tunable("RELAY_BATCH", 200)))
                life.beat("relay")
                if n:
                    life.count("relayed", n)
                else:
                    life.stop.wait(relay_idle)
            except Exception as exc:  # noqa: BLE001 — keep relaying after transient failures
                life.failed("relay", exc)
                log.warning("relay: %s", exc)
                renew_if_fatal(exc)
                if conn is not None:
                    conn.close()
                conn = None
                life.stop.wait(1)
        if conn is not None:
            conn.close()

    def cron_loop() -> None:
        while not life.stop.is_set():
            try:
                bucket = int(time.time() // interval)
                with psycopg.connect(**conninfo) as conn:
                    ids = tenants(conn)
                prod = shared["producer"]
                for env in tick_events(ids, bucket):
                    prod.produce(INTERNAL_TASKS, key=env["tenant_id"].encode(), value=envelope.encode(env))
                if prod.flush(30):
                    raise RuntimeError("cron: ticks not acknowledged")
                life.beat("cron")
                life.count("ticks", len(ids))
            except Exception as exc:  # noqa: BLE001
                life.failed("cron", exc)
                log.warning("cron: %s", exc)
                renew_if_fatal(exc)
            life.stop.wait(interval - (time.time() % interval))

    def pinger_loop() -> None:
        ch_url, ch_auth = cfg["CLICKHOUSE_URL"].rstrip("/") + "/ping", (cfg["CLICKHOUSE_USER"], cfg["CLICKHOUSE_PASSWORD"])
        while not life.stop.is_set():
            try:
                requests.get(ch_url, auth=ch_auth, timeout=3).raise_for_status()
                shared["producer"].list_topics(timeout=5)
                life.beat("pinger")
            except Exception as exc:  # noqa: BLE001
                life.failed("pinger", exc)
            try:  # the backend's health is reported, not inherited
                code = requests.get(cfg["BACKEND_URL"].rstrip("/") + "/healthz", timeout=3).status_code
                life.stats["backend_healthz"] = code
            except requests.RequestException:
                life.stats["backend_healthz"] = 0
            life.stop.wait(10)

    server = serve(port, health_routes(life), life)
    threads = [threading.Thread(target=f, name=f.__name__, daemon=True) for f in (relay_loop, cron_loop, pinger_loop)]
    for t in threads:
        t.start()
    log.info("daemon running: relay, cron every %.0f s, pinger; health on :%d", interval, port)
    life.stop.wait()
    for t in threads:
        t.join(timeout=60)
    shared["producer"].flush(30)
    server.shutdown()
    log.info("daemon stopped")
