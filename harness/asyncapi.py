"""deploy/asyncapi.yaml: the topology's Kafka topics as an AsyncAPI 3.0.0 document (checked against the messages on
the broker by contracts/test_asyncapi_conformance.py).

A spec, not a host: it is rendered beside the targets (harness/render.py RENDERERS) and drift-checked with them.
What it says comes from the model and from the targets' own renderings, never typed by hand:
- one channel per topic (address = topic name), with the Kafka channel binding (partitions, replicas);
- one message per channel: the event envelope (app/deml/envelope.schema.json, embedded at render time, so the
  drift check fails when the envelope changes and the spec was not rendered again) as payload, the Kafka message
  binding's `key` describing the envelope field the topic is keyed by (`topics[].key`);
- send/receive operations per service (`topics[].producers` / `topics[].consumers`);
- one server per target whose rendering gives the producers/consumers a broker address (read back through the
  target's own parity views: `${redpanda.host}` as that target resolves it), secured by the SASL/SCRAM
  mechanism `kafka.mechanism` declares. No secret value, no user password is written.

Sources (read, and verified by running @asyncapi/parser 3.6.6 with @asyncapi/specs 6.11.1 in tests/asyncapi):
- AsyncAPI 3.0.0: channels/operations/components as @asyncapi/specs definitions/3.0.0/{channel,operation,server}.json
  define them; server `host` + `protocol` required (server.json `required`).
- SCRAM security scheme: definitions/3.0.0/SaslScramSecurityScheme.json, type `scramSha256` | `scramSha512`.
- Kafka bindings 0.5.0 (asyncapi/bindings kafka/README.md; specs bindings/kafka/0.5.0/{channel,message}.json):
  channel `partitions`, `replicas` (both >= 1), `topicConfiguration`; message `key` (a Schema Object).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from harness.errors import Problem
from harness.model import Topology, references
from harness.targets.base import Rendering, header

SPEC_PATH = "deploy/asyncapi.yaml"
ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"  # the newest Kafka binding @asyncapi/specs 6.11.1 accepts in a 3.0.0 document
ENVELOPE = Path(__file__).resolve().parent.parent / "app" / "deml" / "envelope.schema.json"
ENVELOPE_REL = "app/deml/envelope.schema.json"
SCRAM = {"SCRAM-SHA-256": "scramSha256", "SCRAM-SHA-512": "scramSha512"}  # kafka.mechanism → AsyncAPI type
ID = re.compile(r"[^A-Za-z0-9_-]")  # channel/operation ids: ^[A-Za-z0-9_\-]+$ (definitions/3.0.0/channels.json)
KEY_FIELD = "x-envelope-field"  # in the key schema: which envelope field the message key equals


def channel_id(topic: str) -> str:
    return ID.sub("_", topic)


def envelope_schema(path: Path = ENVELOPE) -> dict:
    """The envelope as the message payload: the shared schema minus `$schema`/`$id` (an AsyncAPI Schema Object is
    JSON Schema draft-07 plus extensions; the envelope only uses keywords draft-07 and 2020-12 share)."""
    doc = json.loads(path.read_text())
    return {k: v for k, v in doc.items() if k not in ("$schema", "$id")}


class AsyncApiSpec:
    """Renders deploy/asyncapi.yaml; registered in harness/render.py RENDERERS under `name`."""

    name = "asyncapi"
    description = "AsyncAPI 3.0.0 document of the Kafka topics (deploy/asyncapi.yaml)"

    def __init__(self, envelope: Path = ENVELOPE):
        self.envelope = envelope

    def render(self, t: Topology) -> Rendering:
        out = Rendering(self.name)
        if not t.topics:
            return out  # nothing to describe: no document
        for tp in t.topics:
            if not tp.producers and not tp.consumers:
                out.notes.append(t.problem(tp.key, f"topic '{tp.name}' declares no producers or consumers: "
                                           f"{SPEC_PATH} has no operation for it (and no server, when no topic "
                                           "declares any)", "list the services under `producers:` / `consumers:`",
                                           severity="notice"))
        try:
            envelope = envelope_schema(self.envelope)
        except (OSError, ValueError) as exc:
            out.notes.append(t.problem("topics", f"cannot read the event envelope schema {ENVELOPE_REL}: {exc}",
                                       "it is the message payload of every channel; restore the file"))
            return out
        doc = document(t, envelope, servers(t), out.notes)
        out.data["asyncapi"] = doc
        out.files[SPEC_PATH] = header(self.name) + yaml.safe_dump(doc, sort_keys=False, width=120,
                                                                  default_flow_style=False, allow_unicode=True)
        return out


def servers(t: Topology) -> dict[str, tuple[str, str]]:
    """{server name: (target, broker address)} per target: the address a producer or consumer of a topic is given for the
    Kafka broker on that target (its env value built from the broker's ${svc.host}), read from the target's own
    rendering. A target where such a service has no address (e.g. it runs outside that host) contributes none."""
    from harness.runtime.services import kind
    from harness.targets import TARGETS

    clients = list(dict.fromkeys(s for tp in t.topics for s in (*tp.producers, *tp.consumers)))
    out: dict[str, tuple[str, str]] = {}
    for name, cls in TARGETS.items():
        target = cls()
        try:
            views = target.views(target.render(t), t)
        except NotImplementedError:  # a target without parity views cannot say which address its clients get
            continue
        found: list[str] = []
        for svc in clients:
            s, view = t.service(svc), views.get(svc)
            if s is None or view is None or not view.present:
                continue
            for k, raw in s.env:
                brokers = [ref for _, ref, port in references(raw) if not port and t.service(ref) is not None
                           and kind(t.service(ref)) == "kafka"]
                value = view.env.get(k)
                if brokers and isinstance(value, str) and value not in found:
                    found.append(value)
        for i, address in enumerate(found):
            out[name if len(found) == 1 else f"{name}-{i + 1}"] = (name, address)
    return out


def document(t: Topology, envelope: dict, addresses: dict[str, tuple[str, str]], notes: list[Problem]) -> dict:
    mechanism = SCRAM.get(t.kafka_mechanism)
    if mechanism is None:
        notes.append(t.problem("kafka.mechanism", f"AsyncAPI has no security scheme for {t.kafka_mechanism!r}",
                               f"use one of {', '.join(SCRAM)}"))
    version = envelope.get("properties", {}).get("schema_version", {}).get("const", 1)
    doc: dict = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": f"{t.project} events",
            "version": f"{version}.0.0",
            "description": (f"The Kafka topics of {t.project}, generated from {Path(t.file).name} by `topo render "
                            f"asyncapi`. Every message is the event envelope ({ENVELOPE_REL}); its key is the "
                            "envelope field the topic declares (`topics[].key`)."),
        },
        "defaultContentType": "application/json",
    }
    if addresses:
        doc["servers"] = {
            name: {"host": address, "protocol": "kafka",
                   "description": f"the broker as the {target} target resolves it for the topics' producers and "
                                  "consumers",
                   "security": [{"$ref": "#/components/securitySchemes/sasl"}]}
            for name, (target, address) in addresses.items()}
    channels: dict = {}
    operations: dict = {}
    for tp in t.topics:
        cid = channel_id(tp.name)
        message: dict = {
            "name": "envelope",
            "title": "DEML event envelope",
            "contentType": "application/json",
            "payload": {"$ref": "#/components/schemas/envelope"},
        }
        if tp.key_field:
            field = envelope.get("properties", {}).get(tp.key_field)
            if field is None:
                notes.append(t.problem(f"{tp.key}.key", f"'{tp.key_field}' is not a field of the event envelope "
                                       f"({ENVELOPE_REL})", "key the topic by an envelope field, e.g. tenant_id"))
                field = {"type": "string"}
            key = {**field, "description": f"the envelope's {tp.key_field}", KEY_FIELD: tp.key_field}
            message["bindings"] = {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING_VERSION}}
        channels[cid] = {
            "address": tp.name,
            "title": tp.name,
            "messages": {"envelope": message},
            "bindings": {"kafka": {"partitions": tp.partitions, "replicas": tp.replication,
                                   "bindingVersion": KAFKA_BINDING_VERSION}},
        }
        if addresses:
            channels[cid]["servers"] = [{"$ref": f"#/servers/{name}"} for name in addresses]
        for action, services in (("send", tp.producers), ("receive", tp.consumers)):
            for svc in services:
                operations[channel_id(f"{svc}_{action}_{tp.name}")] = {
                    "action": action,
                    "title": f"{svc} {'sends to' if action == 'send' else 'receives from'} {tp.name}",
                    "channel": {"$ref": f"#/channels/{cid}"},
                    "messages": [{"$ref": f"#/channels/{cid}/messages/envelope"}],
                }
    doc["channels"] = channels
    doc["operations"] = operations
    components: dict = {"schemas": {"envelope": envelope}}
    if mechanism:
        components["securitySchemes"] = {"sasl": {
            "type": mechanism,
            "description": f"SASL/{t.kafka_mechanism} over plaintext on every target (kafka.mechanism); no "
                           "anonymous listener exists. Users and their ACLs: kafka.users in topology.yaml."}}
    doc["components"] = components
    return doc
