"""Least privilege on the broker: the application's SASL user can do exactly what the pipeline needs (produce with
the idempotent producer, fetch, read its groups' offsets) and the broker refuses it everything else — deleting or
creating topics, reading or writing ACLs, changing SCRAM users, joining a group that is not the pipeline's. Each
refusal is the broker's own authorization error, never a timeout."""
from __future__ import annotations

import uuid

import pytest

from contracts.support import PROBE_HEADER, kafka_conf

pytestmark = pytest.mark.services("redpanda")

PIPELINE_TOPICS = ("frontend-events", "internal-tasks")
PIPELINE_GROUPS = ("telemetry-worker", "workers")


def _code(exc: BaseException) -> str:
    """The KafkaError code name inside a confluent-kafka exception ('' when it is not a broker answer)."""
    err = exc.args[0] if getattr(exc, "args", None) else None
    name = getattr(err, "name", None)
    return name() if callable(name) else ""


def allowed(e) -> dict[str, str]:
    """What the pipeline needs; each value is '' when it worked, else the error."""
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient

    out: dict[str, str] = {}
    p = Producer(kafka_conf(e, **{"enable.idempotence": True, "acks": "all", "message.timeout.ms": 15000}))
    for topic in PIPELINE_TOPICS:
        box: list = []
        # a key no tenant has: consumers skip envelopes they cannot parse; this is not an envelope, and its header
        # says so to the AsyncAPI conformance contract (PROBE_HEADER), which counts it instead of checking it
        p.produce(topic, key=b"contract-acl-probe", value=b"not-an-envelope", headers=[(PROBE_HEADER, b"kafka_acls")],
                  on_delivery=lambda err, msg, box=box: box.append(err))
        p.flush(20)
        out[f"produce {topic} (idempotent)"] = str(box[0]) if box and box[0] else ("" if box else "no delivery report")
    c = Consumer(kafka_conf(e, **{"group.id": PIPELINE_GROUPS[0], "enable.auto.commit": False}))
    try:
        for topic in PIPELINE_TOPICS:
            try:
                low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
                out[f"list offsets {topic}"] = "" if high >= low >= 0 else f"bad watermarks {low}..{high}"
            except Exception as exc:  # noqa: BLE001
                out[f"list offsets {topic}"] = str(exc)
    finally:
        c.close()
    admin = AdminClient(kafka_conf(e))
    from confluent_kafka import ConsumerGroupTopicPartitions

    for group in PIPELINE_GROUPS:
        try:
            admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=15)
            out[f"fetch offsets of group {group}"] = ""
        except Exception as exc:  # noqa: BLE001
            out[f"fetch offsets of group {group}"] = str(exc)
    return out


def refused(e) -> dict[str, str]:
    """What the pipeline does not need; each value is the error code the broker answered ('' = it was allowed)."""
    from confluent_kafka import Consumer, KafkaError, KafkaException
    from confluent_kafka.admin import (
        AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient, NewTopic, ResourcePatternType,
        ResourceType, ScramCredentialInfo, ScramMechanism, UserScramCredentialDeletion, UserScramCredentialUpsertion,
    )

    admin = AdminClient(kafka_conf(e))
    out: dict[str, str] = {}

    def attempt(what: str, fn) -> None:
        try:
            fn()
            out[what] = ""
        except KafkaException as exc:
            out[what] = _code(exc) or str(exc)
        except Exception as exc:  # noqa: BLE001 — futures re-raise KafkaException; anything else is evidence too
            out[what] = _code(exc) or f"{type(exc).__name__}: {exc}"

    # Every probe is harmless if the broker wrongly allows it (this contract also runs against real environments):
    # it names resources that do not exist, and undoes what it made.
    probe = f"contract-acl-{uuid.uuid4().hex[:8]}"
    attempt("delete a topic", lambda: admin.delete_topics([probe], operation_timeout=10)[probe].result(timeout=20))

    def create_topic():
        admin.create_topics([NewTopic(probe, 1, 1)])[probe].result(timeout=20)
        admin.delete_topics([probe])  # it was allowed: the contract fails; leave nothing behind

    attempt("create a topic", create_topic)
    grant = AclBinding(ResourceType.TOPIC, probe, ResourcePatternType.LITERAL, f"User:{probe}", "*",
                       AclOperation.READ, AclPermissionType.ALLOW)

    def create_acl():
        list(admin.create_acls([grant]).values())[0].result(timeout=20)
        admin.delete_acls([AclBindingFilter(ResourceType.TOPIC, probe, ResourcePatternType.LITERAL, f"User:{probe}",
                                            "*", AclOperation.READ, AclPermissionType.ALLOW)])

    attempt("create an ACL", create_acl)

    def describe_acls():
        found = admin.describe_acls(AclBindingFilter(
            ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY)
        ).result(timeout=20)
        if not found:  # Kafka's authorizer (the stand-in) answers an empty list where Redpanda refuses: nothing leaks
            raise KafkaException(KafkaError(KafkaError.CLUSTER_AUTHORIZATION_FAILED, "described no ACL"))

    attempt("describe ACLs (reveals none)", describe_acls)

    def create_scram_user():
        upsert = UserScramCredentialUpsertion(probe, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096),
                                              uuid.uuid4().hex.encode())
        list(admin.alter_user_scram_credentials([upsert]).values())[0].result(timeout=20)
        admin.alter_user_scram_credentials([UserScramCredentialDeletion(probe, ScramMechanism.SCRAM_SHA_256)])

    attempt("create a SCRAM user", create_scram_user)

    def join_other_group():
        c = Consumer(kafka_conf(e, **{"group.id": f"intruder-{uuid.uuid4().hex[:6]}", "session.timeout.ms": 6000}))
        try:
            c.subscribe(["frontend-events"])
            for _ in range(40):  # bounded: ~20 s at most
                msg = c.poll(0.5)
                if msg is not None and msg.error():
                    raise KafkaException(msg.error())
                if c.assignment():
                    return
            raise TimeoutError("no assignment and no error within 20 s")
        finally:
            c.close()

    attempt("join a group that is not the pipeline's", join_other_group)
    return out


REFUSAL_CODES = {"TOPIC_AUTHORIZATION_FAILED", "GROUP_AUTHORIZATION_FAILED", "CLUSTER_AUTHORIZATION_FAILED"}


def check_least_privilege(e) -> dict[str, dict[str, str]]:
    """Raise AssertionError unless the app user can do what the pipeline needs and is refused the rest by the
    broker's authorizer. Returns what was seen (for evidence)."""
    ok, no = allowed(e), refused(e)
    missing = {k: v for k, v in ok.items() if v}
    assert not missing, f"the pipeline's user is refused what the pipeline needs: {missing}"
    too_much = {k: v for k, v in no.items() if v not in REFUSAL_CODES}
    assert not too_much, ("the pipeline's user was not refused by the authorizer ('' = it was ALLOWED): "
                          f"{too_much}")
    return {"allowed": ok, "refused": no}


def test_the_app_user_can_do_what_the_pipeline_needs_and_nothing_else(endpoints):
    """The app's SASL user produces (idempotently), lists offsets and reads its groups' offsets; deleting or creating
    topics, reading or writing ACLs, creating SCRAM users and joining other groups are refused by the authorizer."""
    seen = check_least_privilege(endpoints)
    assert len(seen["allowed"]) == 6 and len(seen["refused"]) == 6
