"""workers: consumes internal-tasks task types other than ticks and projections. The task here is small but
real: `rollup.requested` recomputes a tenant's daily event counts from ClickHouse (FINAL, so repeats of an
event count once), stores them in ClickHouse (tenant_daily) and in Firestore (tenants/{t}/rollups/{day})."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from confluent_kafka import KafkaError, KafkaException, TopicPartition

from deml import envelope, projections
from deml.clickhouse import ClickHouse
from deml.config import Config
from deml.kafka import INTERNAL_TASKS, consumer, fatal, renew
from deml.process import Lifecycle, health_routes, serve

log = logging.getLogger("deml.workers")
TASKS = ("rollup.requested",)


def rollup(ch: ClickHouse, db, tenant: str) -> list[dict]:
    safe = tenant.replace("'", "")
    rows = ch.rows(f"SELECT toString(toDate(occurred_at)) AS day, count() AS events FROM {ch.db}.events FINAL "
                   f"WHERE tenant_id = '{safe}' GROUP BY day ORDER BY day")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    ch.insert("tenant_daily", [{"tenant_id": tenant, "day": r["day"], "events": int(r["events"]), "computed_at": now}
                               for r in rows])
    for r in rows:
        db.document(f"tenants/{tenant}/rollups/{r['day']}").set({"day": r["day"], "events": int(r["events"]),
                                                                 "computed_at": now})
    return rows


def commit(c, cfg: Config, msg, life: Lifecycle):
    """Commit past msg; after a fatal error, the consumer is replaced (msg is redone: rollups are idempotent)."""
    try:
        c.commit(message=msg, asynchronous=False)
    except KafkaException as exc:
        log.warning("offset commit failed: %s", exc)
        if fatal(exc):
            life.failed("commit", exc)
            return renew(c, cfg, "workers", [INTERNAL_TASKS], exc)
    return c


def run(cfg: Config, life: Lifecycle, port: int) -> None:
    ch, db = ClickHouse(cfg), projections.client(cfg)
    c = consumer(cfg, "workers")
    c.subscribe([INTERNAL_TASKS])
    server = serve(port, health_routes(life), life)
    log.info("workers consuming %s (%s); health on :%d", INTERNAL_TASKS, ", ".join(TASKS), port)
    while not life.stop.is_set():
        msg = c.poll(0.5)
        life.beat("consume")
        if msg is None or (msg.error() and msg.error().code() == KafkaError._PARTITION_EOF):
            continue
        if msg.error():
            life.failed("consume", RuntimeError(str(msg.error())))
            if fatal(msg.error()):
                c = renew(c, cfg, "workers", [INTERNAL_TASKS], msg.error())
            continue
        try:
            env = envelope.decode(msg.value())
        except ValueError as exc:
            log.error("skipping an invalid event: %s", exc)
            c = commit(c, cfg, msg, life)
            continue
        if env["type"] in TASKS:
            try:
                rows = rollup(ch, db, env["tenant_id"])
                life.count("rollups")
                log.info("rollup for %s: %d day(s)", env["tenant_id"], len(rows))
            except Exception as exc:  # noqa: BLE001 — leave the offset: the task is retried after a restart
                life.failed("rollup", exc)
                log.warning("rollup for %s failed: %s", env["tenant_id"], exc)
                life.stop.wait(1)
                c.seek(TopicPartition(msg.topic(), msg.partition(), msg.offset()))
                continue
        c = commit(c, cfg, msg, life)
    c.close()
    server.shutdown()
    log.info("workers stopped: %s", life.stats)
