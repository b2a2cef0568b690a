"""Kafka clients from the environment contract: SASL/SCRAM always, idempotent producer with acks=all."""
from __future__ import annotations

import logging
import socket

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from deml.config import Config

FRONTEND_EVENTS = "frontend-events"
INTERNAL_TASKS = "internal-tasks"
log = logging.getLogger("deml.kafka")


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


def fatal(error: KafkaError | KafkaException | None) -> bool:
    """A fatal client error: the consumer instance is unusable and must be replaced (librdkafka's rule). Seen
    here: a static member whose session timed out while the broker restarted is fenced on its next commit
    (FENCED_INSTANCE_ID) and would otherwise stay alive, healthy-looking, consuming nothing."""
    if isinstance(error, KafkaException):
        error = error.args[0] if error.args and isinstance(error.args[0], KafkaError) else None
    # the commit's error carries the code but not the fatal flag (measured: librdkafka logs FATAL, .fatal() is
    # False), so the codes count too
    return error is not None and (error.fatal()
                                  or error.code() in (KafkaError._FATAL, KafkaError.FENCED_INSTANCE_ID))


def renew(c: Consumer, cfg: Config, group: str, topics: list[str], why: object) -> Consumer:
    """Replace a consumer after a fatal error; uncommitted messages are redelivered to the new one."""
    log.error("consumer of group %s hit a fatal error, replacing it: %s", group, why)
    try:
        c.close()
    except (KafkaException, RuntimeError):
        pass  # a fenced instance may refuse to leave the group politely; the new one takes its place
    fresh = consumer(cfg, group)
    fresh.subscribe(topics)
    return fresh


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
