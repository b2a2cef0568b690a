"""telemetry-worker: consumes frontend-events and internal-tasks in one consumer group, in batches (up to 200
messages per poll, or WORKER_BATCH). Per batch: one Firestore transaction (projections + markers for events whose
marker is absent, summed counters per tenant), then the long-term rows in ClickHouse (ReplacingMergeTree keyed by
event_id absorbs repeats), then — only after both — the offset commit.
Dragonfly remembers processed ids as a fast path; flushing it loses speed, never correctness.
"""
from __future__ import annotations

import json
import logging
import random

import redis
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from deml import envelope, faults, projections
from deml.clickhouse import ClickHouse, event_row
from deml.config import Config, tunable
from deml.kafka import FRONTEND_EVENTS, INTERNAL_TASKS, consumer, fatal, renew
from deml.process import Lifecycle, health_routes, serve

log = logging.getLogger("deml.telemetry")
CACHE_TTL = 24 * 3600
HANDLED_TASKS = ("tenant.tick", "action.created")  # internal-tasks types projected here; others are the workers'


class Processor:
    def __init__(self, cfg: Config, cache: redis.Redis | None):
        self.db = projections.client(cfg)
        self.ch = ClickHouse(cfg)
        self.cache = cache
        self.check_markers = not faults.active("worker_skip_marker_check")  # off only in the BROKEN variant
        # BROKEN variant: the platform tenant special-cased (its counters never move)
        self.uncounted = frozenset({"tenant0"}) if faults.active("worker_tenant0_uncounted") else frozenset()

    def cached(self, event_ids: list[str]) -> set[str]:
        if self.cache is None or not event_ids:
            return set()
        try:
            pipe = self.cache.pipeline(transaction=False)
            for event_id in event_ids:
                pipe.exists(f"processed:{event_id}")
            return {e for e, hit in zip(event_ids, pipe.execute()) if hit}
        except redis.RedisError:
            return set()  # the cache is optional; Firestore decides

    def remember(self, event_ids: list[str]) -> None:
        if self.cache is None or not event_ids:
            return
        try:
            pipe = self.cache.pipeline(transaction=False)
            for event_id in event_ids:
                pipe.set(f"processed:{event_id}", 1, ex=CACHE_TTL)
            pipe.execute()
        except redis.RedisError:
            pass

    def handle(self, envs: list[dict]) -> dict[str, int]:
        """Project a batch: Firestore (exactly once, markers) → ClickHouse (dedup by event_id) → cache."""
        hits = self.cached([e["event_id"] for e in envs])
        todo = [e for e in envs if e["event_id"] not in hits]
        new = projections.apply_batch(self.db, todo, self.check_markers, self.uncounted) if todo else []
        # fault injection counts only new events, so a redelivered batch passes the second time; it exits after
        # the Firestore transaction (only the markers protect) or after the ClickHouse rows, at random
        crash = any(new) and faults.fires("worker_crash_before_commit", sum(new))
        after_firestore = crash and random.random() < 0.5
        if after_firestore:
            faults.crash("worker_crash_before_commit", f"{len(todo)} events projected, offsets not committed")
        self.ch.insert("events", [event_row(e) for e in todo])
        if crash:
            faults.crash("worker_crash_before_commit", f"{len(todo)} events written, offsets not committed")
        self.remember([e["event_id"] for e in todo])
        return {"projected": sum(new), "duplicate": len(envs) - sum(new)}


def take(c, batch: int, wait: float = 0.5) -> list:
    """The next batch: wait for the first message only, then whatever is already fetched, up to `batch`. (Waiting
    for a full batch — consume(batch, 0.5) — held every event up to 0.5 s at low rates: p50 385 ms at 100/s.)"""
    first = c.poll(wait)
    if first is None:
        return []
    return [first] + (c.consume(num_messages=batch - 1, timeout=0) if batch > 1 else [])


def run(cfg: Config, life: Lifecycle, port: int) -> None:
    cache = redis.Redis(host=cfg["DRAGONFLY_HOST"], port=6379, socket_timeout=2) if cfg.get("DRAGONFLY_HOST") else None
    proc = Processor(cfg, cache)
    topics = [FRONTEND_EVENTS, INTERNAL_TASKS]
    c = consumer(cfg, "telemetry-worker")
    c.subscribe(topics)
    batch = max(1, min(projections.MAX_BATCH, int(tunable("WORKER_BATCH", projections.MAX_BATCH))))
    server = serve(port, health_routes(life), life)
    log.info("telemetry-worker consuming %s, %s; health on :%d", FRONTEND_EVENTS, INTERNAL_TASKS, port)
    while not life.stop.is_set():
        msgs = take(c, batch)
        life.beat("consume")
        envs: list[dict] = []
        last: dict[tuple[str, int], int] = {}
        broken = next((m.error() for m in msgs if fatal(m.error())), None)
        if broken is not None:  # nothing of this poll is processed or committed: the new consumer re-reads it
            life.failed("consume", RuntimeError(str(broken)))
            c = renew(c, cfg, "telemetry-worker", topics, broken)
            continue
        for msg in msgs:
            if msg.error():
                if msg.error().code() != KafkaError._PARTITION_EOF:
                    life.failed("consume", RuntimeError(str(msg.error())))
                continue
            last[(msg.topic(), msg.partition())] = msg.offset()
            try:
                env = envelope.decode(msg.value())
            except (ValueError, json.JSONDecodeError) as exc:
                log.error("skipping an invalid event at %s[%d]@%d: %s", msg.topic(), msg.partition(), msg.offset(), exc)
                life.count("invalid")
                continue
            if msg.topic() == INTERNAL_TASKS and env["type"] not in HANDLED_TASKS:
                continue  # the workers' task types
            envs.append(env)
        if not last:
            continue
        while envs and not life.stop.is_set():
            try:
                for kind, n in proc.handle(envs).items():
                    life.count(kind, n)
                break
            except Exception as exc:  # noqa: BLE001 — retry this batch; never commit past unprojected events
                life.failed("project", exc)
                log.warning("projecting a batch of %d failed, retrying: %s", len(envs), exc)
                life.stop.wait(1)
        else:
            if envs:
                break  # stopping mid-retry: offsets stay uncommitted, the batch is redelivered to the next owner
        try:
            c.commit(offsets=[TopicPartition(t, p, o + 1) for (t, p), o in last.items()], asynchronous=False)
        except KafkaException as exc:  # e.g. partitions revoked meanwhile: the next owner re-reads, markers absorb
            log.warning("offset commit failed: %s", exc)
            if fatal(exc):
                life.failed("commit", exc)
                c = renew(c, cfg, "telemetry-worker", topics, exc)
    c.close()  # leaves the group so partitions move at once
    server.shutdown()
    log.info("telemetry-worker stopped: %s", life.stats)
