"""Kafka clients from the environment contract: SASL/SCRAM always, idempotent producer with acks=all."""
from __future__ import annotations

import socket

from confluent_kafka import Consumer, Producer

from deml.config import Config

FRONTEND_EVENTS = "frontend-events"
INTERNAL_TASKS = "internal-tasks"


def _common(cfg: Config) -> dict:
    return {
        "bootstrap.servers": cfg["REDPANDA_BROKERS"],
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": cfg["REDPANDA_SASL_MECHANISM"],
        "sasl.username": cfg["REDPANDA_SASL_USERNAME"],
        "sasl.password": cfg["REDPANDA_SASL_PASSWORD"],
    }


def producer(cfg: Config, **extra) -> Producer:
    return Producer({**_common(cfg), "enable.idempotence": True, "acks": "all", "linger.ms": 5,
                     "client.id": f"deml-{cfg.role}", **extra})


def consumer(cfg: Config, group: str, **extra) -> Consumer:
    # Static membership: a container restarted after a crash (same hostname) takes its partitions back at once
    # instead of waiting for the dead member's session to expire; a replaced task is detected within 10 s.
    return Consumer({**_common(cfg), "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", "client.id": f"deml-{cfg.role}",
                     "group.instance.id": f"{group}-{socket.gethostname()}",
                     "session.timeout.ms": 10000, "heartbeat.interval.ms": 2000,
                     "partition.assignment.strategy": "cooperative-sticky", **extra})


def produce_sync(p: Producer, topic: str, key: str, value: bytes, timeout: float = 30.0):
    """Produce one message and return (partition, offset) only after the broker acknowledged it."""
    result: dict = {}

    def done(err, msg):
        result["err"], result["msg"] = err, msg

    p.produce(topic, key=key.encode(), value=value, on_delivery=done)
    remaining = p.flush(timeout)
    if remaining or "err" not in result:
        raise TimeoutError(f"no acknowledgement from the broker within {timeout} s")
    if result["err"] is not None:
        raise RuntimeError(f"produce to {topic} failed: {result['err']}")
    return result["msg"].partition(), result["msg"].offset()
