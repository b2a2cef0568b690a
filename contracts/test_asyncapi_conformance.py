"""Every message on the broker conforms to deploy/asyncapi.yaml: a declared channel, a payload its schema accepts,
the key its Kafka binding describes.

Runs last (RUN_LAST, ordered by contracts/conftest.py): it reads, as the admin user, every message on
every topic from the low to the high watermark taken when it starts — everything the app produced during the gate —
and checks each one against the committed AsyncAPI document (`topo render --check` holds that to topology.yaml).
Messages a contract produces on purpose that are not envelopes (the ACL contract's produce probe) carry the header
PROBE_HEADER and are counted, not checked."""
from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator

import jsonschema
import pytest
import yaml

from contracts.support import PROBE_HEADER, kafka_conf, unique

pytestmark = pytest.mark.services("redpanda", "daemon", "firebase")
RUN_LAST = True  # contracts/conftest.py runs this module after every other one

SPEC = "deploy/asyncapi.yaml"
KEY_FIELD = "x-envelope-field"  # harness/asyncapi.py: the envelope field a message key equals


def check_messages_conform(spec: dict, messages: Iterable[tuple]) -> list[str]:
    """Problems of messages read from the broker against an AsyncAPI document; each message is
    (topic, key bytes|str|None, value bytes|str, partition, offset). The topic must be the address of a channel, the
    value JSON that the channel message's payload schema accepts, and the key present, valid per the key schema of
    the message's Kafka binding and equal to the envelope field it names (x-envelope-field)."""
    channels = {ch.get("address"): ch for ch in (spec.get("channels") or {}).values() if isinstance(ch, dict)}
    problems: list[str] = []
    for topic, key, value, partition, offset in messages:
        where = f"{topic}[{partition}]@{offset}"
        channel = channels.get(topic)
        if channel is None:
            problems.append(f"{where}: topic {topic!r} is not a channel of the AsyncAPI document "
                            f"(declared: {', '.join(sorted(map(str, channels))) or 'none'})")
            continue
        msg = _deref(spec, next(iter((channel.get("messages") or {}).values()), {}))
        try:
            body = json.loads(value)
        except (TypeError, ValueError) as exc:
            problems.append(f"{where}: value is not JSON ({exc})")
            continue
        payload = _deref(spec, msg.get("payload", {}))
        for err in sorted(jsonschema.Draft7Validator(payload).iter_errors(body), key=str):
            path = ".".join(map(str, err.absolute_path)) or "(envelope)"
            problems.append(f"{where}: payload {path}: {err.message}")
        binding = (msg.get("bindings") or {}).get("kafka") or {}
        if "key" not in binding:
            continue
        key_schema = _deref(spec, binding["key"])
        field = key_schema.get(KEY_FIELD)
        if key is None:
            problems.append(f"{where}: message has no key; the channel's messages are keyed by the envelope's "
                            f"{field or 'key field'}")
            continue
        text = key.decode("utf-8", "replace") if isinstance(key, (bytes, bytearray)) else str(key)
        plain = {k: v for k, v in key_schema.items() if k != KEY_FIELD}
        for err in jsonschema.Draft7Validator(plain).iter_errors(text):
            problems.append(f"{where}: key {text!r}: {err.message}")
        if field and isinstance(body, dict) and body.get(field) != text:
            problems.append(f"{where}: key {text!r} is not the envelope's {field} ({body.get(field)!r})")
    return problems


def _deref(spec: dict, node) -> dict:
    """Follow the document's own `#/a/b` references (what the parser resolves; external ones are not used)."""
    for _ in range(20):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
            break
        target: object = spec
        for part in node["$ref"][2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, dict) else {}
        node = target
    return node if isinstance(node, dict) else {}


def read_all(e, timeout: float = 120.0, counts: Counter | None = None) -> Iterator[tuple]:
    """Every message of every topic (internal `_`/`__` topics aside) from the low to the high watermark taken now,
    as the admin user (a superuser reads any topic): (topic, key, value, partition, offset). Messages carrying
    PROBE_HEADER are counted in counts['probes'] and not yielded. Bounded: an AssertionError after `timeout` s."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(kafka_conf(e, **{"sasl.username": e.kafka_admin_user, "sasl.password": e.kafka_admin_password,
                                  "group.id": unique("contract-conformance"), "enable.auto.commit": False}))
    counts = counts if counts is not None else Counter()
    try:
        ends: dict[tuple[str, int], int] = {}
        starts = []
        for topic, meta in c.list_topics(timeout=10).topics.items():
            if topic.startswith("_"):
                continue
            for p in meta.partitions:
                low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                if high > low:
                    ends[(topic, p)] = high
                    starts.append(TopicPartition(topic, p, low))
        counts["partitions"] = len(ends)
        if not starts:
            return
        c.assign(starts)
        left = dict(ends)
        deadline = time.monotonic() + timeout
        while left:
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read every topic up to its high watermark within {timeout:.0f} s "
                                     f"(still to read: {sorted(left)})")
            msg = c.poll(0.5)
            if msg is None or msg.error():
                continue
            tp = (msg.topic(), msg.partition())
            if tp not in left or msg.offset() >= left[tp]:
                continue
            if msg.offset() + 1 >= left[tp]:
                del left[tp]
            if any(k == PROBE_HEADER for k, _v in (msg.headers() or [])):
                counts["probes"] += 1
                continue
            counts[msg.topic()] += 1
            yield msg.topic(), msg.key(), msg.value(), msg.partition(), msg.offset()
    finally:
        c.close()


def test_every_message_conforms_to_the_asyncapi_document(endpoints, topo_file):
    """Every message produced during the gate is on a declared channel, with a payload and key the AsyncAPI document describes."""
    spec_path = topo_file.parent / SPEC
    assert spec_path.exists(), f"{SPEC} is missing next to {topo_file.name}: run `topo render asyncapi` and commit it"
    spec = yaml.safe_load(spec_path.read_text())
    counts: Counter = Counter()
    problems = check_messages_conform(spec, read_all(endpoints, counts=counts))
    checked = sum(n for k, n in counts.items() if k not in ("partitions", "probes"))
    per_topic = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()) if k not in ("partitions", "probes"))
    print(f"checked: {checked} messages ({per_topic or 'none'}) on {counts['partitions']} partitions against {SPEC}"
          + (f"; {counts['probes']} contract probe(s) not checked" if counts["probes"] else ""))
    assert checked, "no message on any topic: nothing was checked (the app produced nothing during the gate?)"
    assert not problems, (f"{len(problems)} problem(s) in {checked} messages; first ones:\n  "
                          + "\n  ".join(problems[:20]))
