"""deploy/asyncapi.yaml: what it says (from the model and the targets' own renderings), that the AsyncAPI
Initiative's parser accepts it and refuses broken variants, that `topo render --check` catches its drift, and that
the conformance contract's check fails on malformed messages and passes on good ones.

The parser part needs Node and `make asyncapi-deps` (npm ci in tests/asyncapi): without them it skips on a
workstation and FAILS when CI=true."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from contracts.test_asyncapi_conformance import check_messages_conform
from harness.asyncapi import SPEC_PATH, AsyncApiSpec, envelope_schema
from harness.loader import load, load_text
from harness.render import drift, render, write
from harness.targets import TARGETS

ROOT = Path(__file__).resolve().parent.parent
PARSER_DIR = ROOT / "tests" / "asyncapi"


@pytest.fixture(scope="module")
def topology():
    return load(ROOT / "topology.yaml")[0]


@pytest.fixture(scope="module")
def spec(topology) -> dict:
    r = AsyncApiSpec().render(topology)
    assert not [n for n in r.notes if n.severity == "error"], r.notes
    return r.data["asyncapi"]


# ---- what the document says -----------------------------------------------------------------------------------

def test_topics_are_channels_with_their_kafka_binding(topology, spec):
    assert spec["asyncapi"] == "3.0.0"
    by_address = {ch["address"]: ch for ch in spec["channels"].values()}
    assert set(by_address) == {tp.name for tp in topology.topics}
    for tp in topology.topics:
        binding = by_address[tp.name]["bindings"]["kafka"]
        assert (binding["partitions"], binding["replicas"]) == (tp.partitions, tp.replication)
        key = by_address[tp.name]["messages"]["envelope"]["bindings"]["kafka"]["key"]
        assert key["x-envelope-field"] == tp.key_field == "tenant_id"
        assert key["pattern"] == envelope_schema()["properties"]["tenant_id"]["pattern"]


def test_the_payload_is_the_shared_envelope_schema(spec):
    shared = json.loads((ROOT / "app" / "deml" / "envelope.schema.json").read_text())
    del shared["$schema"], shared["$id"]
    assert spec["components"]["schemas"]["envelope"] == shared
    for ch in spec["channels"].values():
        assert ch["messages"]["envelope"]["payload"] == {"$ref": "#/components/schemas/envelope"}


def test_operations_are_the_declared_producers_and_consumers(topology, spec):
    seen = {(op["action"], op["title"].split()[0], op["channel"]["$ref"].rsplit("/", 1)[1])
            for op in spec["operations"].values()}
    want = {(action, svc, tp.name) for tp in topology.topics
            for action, svcs in (("send", tp.producers), ("receive", tp.consumers)) for svc in svcs}
    assert seen == want and ("send", "daemon", "internal-tasks") in want and ("send", "firebase", "frontend-events") in want


def test_servers_are_each_targets_broker_address_with_the_declared_sasl_scheme(topology, spec):
    for name, cls in TARGETS.items():
        t = cls()
        try:
            address = t.views(t.render(topology), topology)["daemon"].env["REDPANDA_BROKERS"]
        except NotImplementedError:
            assert name not in spec["servers"]
            continue
        assert spec["servers"][name]["host"] == address
        assert spec["servers"][name]["security"] == [{"$ref": "#/components/securitySchemes/sasl"}]
    assert spec["servers"]["compose"]["host"] == "redpanda:9092"
    assert spec["servers"]["railway"]["host"] == "redpanda.railway.internal:9092"
    assert spec["components"]["securitySchemes"]["sasl"]["type"] == "scramSha256"
    text = (ROOT / "topology.yaml").read_text().replace("mechanism: SCRAM-SHA-256", "mechanism: SCRAM-SHA-512", 1)
    t512 = load_text(text)[0]
    assert AsyncApiSpec().render(t512).data["asyncapi"]["components"]["securitySchemes"]["sasl"]["type"] == "scramSha512"


def test_no_secret_value_is_written(topology, tmp_path):
    text = AsyncApiSpec().render(topology).files[SPEC_PATH]
    assert "password" not in text.lower().replace("password_secret", "")
    secrets_dir = ROOT / ".topo" / "secrets"
    for f in (secrets_dir.glob("*") if secrets_dir.is_dir() else []):
        value = f.read_text().strip()
        if len(value) >= 8:
            assert value not in text, f"the value of secret {f.name} is in {SPEC_PATH}"


def test_an_unknown_producer_is_a_located_error():
    from harness.errors import TopologyError

    text = (ROOT / "topology.yaml").read_text().replace("producers: [daemon]", "producers: [deamon]", 1)
    with pytest.raises(TopologyError) as info:
        load_text(text)
    msg = str(info.value)
    assert "topics[1].producers[0]: unknown service 'deamon'" in msg and "daemon" in msg.split("deamon'", 1)[1]


# ---- drift ------------------------------------------------------------------------------------------------------

def test_plain_render_writes_it_and_check_fails_when_it_drifts(run_cli, tmp_path):
    args = ("--file", str(ROOT / "topology.yaml"), "-o", str(tmp_path))
    code, out, _ = run_cli("render", *args)
    assert code == 0 and f"wrote {SPEC_PATH}" in out
    assert run_cli("render", "--check", *args)[0] == 0
    spec_file = tmp_path / SPEC_PATH
    spec_file.write_text(spec_file.read_text().replace("partitions: 6", "partitions: 7"))
    code, _, err = run_cli("render", "--check", *args)
    assert code == 1 and f"{SPEC_PATH}: changed" in err and "-        partitions: 7" in err
    spec_file.unlink()
    code, _, err = run_cli("render", "--check", *args)
    assert code == 1 and f"{SPEC_PATH}: missing" in err
    code, out, _ = run_cli("render", "asyncapi", *args)
    assert code == 0 and out.strip() == f"wrote {SPEC_PATH}"


def test_a_changed_envelope_makes_the_committed_spec_drift(topology, tmp_path):
    """The payload is generated from the envelope: edit the envelope, and the committed document is stale."""
    assert drift(render(topology, ["asyncapi"]), ROOT) == []
    changed = json.loads((ROOT / "app" / "deml" / "envelope.schema.json").read_text())
    changed["required"].remove("source")
    (tmp_path / "envelope.schema.json").write_text(json.dumps(changed))
    stale = drift([AsyncApiSpec(envelope=tmp_path / "envelope.schema.json").render(topology)], ROOT)
    assert [d.path for d in stale] == [SPEC_PATH] and "-      - source" in stale[0].diff


def test_help_mentions_asyncapi(run_cli):
    code, out, _ = run_cli("render", "--help")
    assert code == 0 and "asyncapi" in out


# ---- the AsyncAPI Initiative's parser ---------------------------------------------------------------------------

def _need(what: str) -> None:
    """Missing tooling: a skip on a workstation, a failure in CI (CI=true), where it must never go unnoticed."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: the AsyncAPI parser check must run in CI)", pytrace=False)
    pytest.skip(what)


def _broken_variants(doc: dict) -> dict[str, dict]:
    out = {}
    d = copy.deepcopy(doc)
    d["channels"]["frontend-events"]["messages"]["envelope"]["payload"] = {"$ref": "#/components/schemas/nope"}
    out["a channel message with a $ref to a missing schema"] = d
    d = copy.deepcopy(doc)
    next(iter(d["operations"].values()))["channel"] = {"$ref": "#/channels/missing-channel"}
    out["an operation pointing at a missing channel"] = d
    d = copy.deepcopy(doc)
    d["channels"]["internal-tasks"]["bindings"]["kafka"]["partitions"] = 0
    out["a Kafka channel binding with 0 partitions"] = d
    d = copy.deepcopy(doc)
    d["components"]["securitySchemes"]["sasl"]["type"] = "scramSha1"
    out["a SASL scheme AsyncAPI does not define"] = d
    d = copy.deepcopy(doc)
    del next(iter(d["servers"].values()))["host"]
    out["a server without a host"] = d
    return out


@pytest.fixture(scope="module")
def parsed(spec, tmp_path_factory) -> dict[str, dict]:
    """{case: the parser's result} for the committed document, a fresh rendering and each broken variant, from one
    node process (the parser takes seconds to load)."""
    exe = shutil.which("node")
    if exe is None:
        _need("node is not installed")
    if not (PARSER_DIR / "node_modules" / "@asyncapi" / "parser" / "package.json").exists():
        _need(f"{PARSER_DIR.relative_to(ROOT)}/node_modules is missing: run `make asyncapi-deps`")
    folder = tmp_path_factory.mktemp("asyncapi")
    cases = {"committed": ROOT / SPEC_PATH, "fresh": folder / "fresh.yaml"}
    cases["fresh"].write_text(yaml.safe_dump(spec, sort_keys=False))
    for i, (name, doc) in enumerate(_broken_variants(spec).items()):
        cases[name] = folder / f"broken-{i}.yaml"
        cases[name].write_text(yaml.safe_dump(doc, sort_keys=False))
    out = subprocess.run([exe, str(PARSER_DIR / "parse.mjs"), *map(str, cases.values())], capture_output=True,
                         text=True, timeout=300, cwd=PARSER_DIR)
    assert out.returncode == 0, f"parse.mjs failed ({out.returncode}): {out.stderr[-2000:]}"
    docs = json.loads(out.stdout)["documents"]
    return dict(zip(cases, docs))


def errors(result: dict) -> list[str]:
    return [f"{d['code']} at {d['path'] or '(root)'} (line {d['line']}): {d['message']}"
            for d in result["diagnostics"] if d["severity"] == 0]


@pytest.mark.parametrize("case", ["committed", "fresh"])
def test_the_parser_accepts_the_document(parsed, case):
    assert parsed[case]["parsed"] and errors(parsed[case]) == [], errors(parsed[case])


@pytest.mark.parametrize("case", ["a channel message with a $ref to a missing schema",
                                  "an operation pointing at a missing channel",
                                  "a Kafka channel binding with 0 partitions",
                                  "a SASL scheme AsyncAPI does not define",
                                  "a server without a host"])
def test_the_parser_refuses_a_broken_variant(parsed, case):
    assert errors(parsed[case]), f"the parser accepted {case}: {parsed[case]['diagnostics']}"


# ---- the conformance contract's check ---------------------------------------------------------------------------

def _envelope(**over) -> dict:
    env = {"event_id": str(uuid.uuid4()), "tenant_id": "acme", "type": "page.viewed",
           "occurred_at": "2026-11-28T00:00:00Z", "source": "frontend", "schema_version": 1, "payload": {}}
    env.update(over)
    return env


def _msg(env: dict, topic: str = "frontend-events", key: object = "acme", offset: int = 0) -> tuple:
    return (topic, key.encode() if isinstance(key, str) else key, json.dumps(env).encode(), 0, offset)


def test_good_messages_conform(spec):
    good = [_msg(_envelope()), _msg(_envelope(tenant_id="tenant0", source="cron", type="tenant.tick"),
                                    topic="internal-tasks", key="tenant0", offset=1)]
    assert check_messages_conform(spec, good) == []


@pytest.mark.catches("contracts/test_asyncapi_conformance.py", variant="a message missing an envelope field")
def test_a_missing_field_is_caught(spec):
    env = _envelope()
    del env["occurred_at"]
    assert any("'occurred_at' is a required property" in p for p in check_messages_conform(spec, [_msg(env)]))


@pytest.mark.catches("contracts/test_asyncapi_conformance.py", variant="a field of the wrong type")
def test_a_wrong_type_is_caught(spec):
    problems = check_messages_conform(spec, [_msg(_envelope(schema_version="1"))])
    assert any("payload schema_version" in p for p in problems), problems


@pytest.mark.catches("contracts/test_asyncapi_conformance.py", variant="a message on an undeclared topic")
def test_an_undeclared_topic_is_caught(spec):
    problems = check_messages_conform(spec, [_msg(_envelope(), topic="shadow-events")])
    assert problems and "'shadow-events' is not a channel" in problems[0]


@pytest.mark.catches("contracts/test_asyncapi_conformance.py", variant="a message without a key")
def test_a_missing_key_is_caught(spec):
    problems = check_messages_conform(spec, [_msg(_envelope(), key=None)])
    assert problems == ["frontend-events[0]@0: message has no key; the channel's messages are keyed by the "
                        "envelope's tenant_id"]


@pytest.mark.catches("contracts/test_asyncapi_conformance.py",
                     variant="a message keyed by something other than its tenant")
def test_a_key_other_than_the_tenant_is_caught(spec):
    problems = check_messages_conform(spec, [_msg(_envelope(), key="globex")])
    assert problems == ["frontend-events[0]@0: key 'globex' is not the envelope's tenant_id ('acme')"]


@pytest.mark.catches("contracts/test_asyncapi_conformance.py", variant="a value that is not JSON")
def test_a_value_that_is_not_json_is_caught(spec):
    problems = check_messages_conform(spec, [("internal-tasks", b"acme", b"not-an-envelope", 2, 9)])
    assert problems and problems[0].startswith("internal-tasks[2]@9: value is not JSON")


def test_write_puts_it_under_deploy(topology, tmp_path):
    assert SPEC_PATH in write(render(topology, ["asyncapi"]), tmp_path)
    assert yaml.safe_load((tmp_path / SPEC_PATH).read_text())["asyncapi"] == "3.0.0"
