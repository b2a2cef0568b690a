"""Property-based tests of the whole front half (issue 10, deliverable 2):

1. generated VALID topologies (variants of the minimal golden topology: env values of any text, tenants, ports,
   sizes, topics within the rules) validate, render deterministically, and every env value survives the round trip
   exactly into the compose file and the Lightsail/ECS JSON (after `$$` → `$` for the JSON, compose keeps its own
   `$$` escape);
2. the reference topology mutated one key at a time (any JSON value in place of any leaf or mapping) never raises
   anything but a located TopologyError, never hangs (per-case time bound), and exits 0 or 2 through the CLI path.
"""
from __future__ import annotations

import json
import re
import time

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import RenderError, TopologyError
from harness.loader import load_text
from harness.render import render
from tests.conftest import MINIMAL, ROOT

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BASE = yaml.safe_load(MINIMAL.read_text())
REFERENCE_TEXT = (ROOT / "topology.yaml").read_text()
PER_CASE_SECONDS = 5.0

env_names = st.from_regex(r"\A[A-Z_][A-Z0-9_]{0,12}\Z").filter(
    lambda n: not re.search(r"PASSWORD|SECRET|TOKEN|API_?KEY|CREDENTIAL|PRIVATE", n) and n not in ("BROKERS", "DATABASE_URL"))
# any printable text without `$` (references have their own grammar) and without credential-looking URLs; and
# without NEL, LS and PS: YAML 1.1 line breaks that PyYAML's emitter (which writes the generated document) puts raw
# inside a single-quoted scalar, where a parser folds them — the document would no longer say what the dict said
env_values = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FFF, blacklist_characters="$\x85\u2028\u2029"),
                     min_size=1,
                     max_size=24).filter(lambda v: "@" not in v and v.strip() == v and v != "")
tenant_ids = st.from_regex(r"\A[a-z][a-z0-9-]{1,10}[a-z0-9]\Z")


@st.composite
def valid_topologies(draw):
    doc = json.loads(json.dumps(BASE))  # deep copy
    extra = draw(st.dictionaries(env_names, env_values, max_size=5))
    doc["services"]["web"]["env"].update(extra)
    tenants = draw(st.lists(tenant_ids, min_size=1, max_size=4, unique=True).filter(lambda ts: "tenant0" not in ts))
    doc["tenants"] = [{"id": "tenant0"}] + [{"id": t} for t in tenants]
    doc["topics"][0]["partitions"] = draw(st.integers(1, 64))
    doc["services"]["web"]["ports"][0]["port"] = draw(st.sampled_from([3000, 8080, 8081, 9000, 18080]))
    doc["services"]["web"]["resources"]["memory"] = draw(st.sampled_from(["128Mi", "256Mi", "512Mi", "768Mi"]))
    return doc, extra


def _render_all(text: str):
    topology, _ = load_text(text, "topology.yaml")
    return topology, render(topology)


@SETTINGS
@given(valid_topologies())
def test_valid_topologies_round_trip_exactly(generated):
    doc, extra = generated
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    topology, first = _render_all(text)
    _t, second = _render_all(text)
    assert [r.files for r in first] == [r.files for r in second], "rendering is not deterministic"
    files = {path: content for r in first for path, content in r.files.items()}
    compose = yaml.safe_load(files["compose/docker-compose.yml"])
    lightsail = json.loads(files["deploy/aws/lightsail-deployment.json"])
    for name, value in extra.items():
        assert compose["services"]["web"]["environment"][name] == value, name
        assert lightsail["containers"]["web"]["environment"][name] == value, name
    # load-back: the model holds the exact text too
    assert dict(topology.service("web").env)[next(iter(extra))] == next(iter(extra.values())) if extra else True


def _leaf_paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaf_paths(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaf_paths(v, path + (i,))


REFERENCE = yaml.safe_load(REFERENCE_TEXT)
PATHS = [p for p in _leaf_paths(REFERENCE) if p]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-70000, 70000) | st.floats(allow_nan=False, width=32)
    | st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=10)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), json_values)
def test_one_key_mutated_never_crashes_or_hangs(path, value):
    doc = json.loads(json.dumps(REFERENCE))
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    text = yaml.safe_dump(doc, sort_keys=False)
    start = time.monotonic()
    try:
        _render_all(text)
    except (TopologyError, RenderError) as exc:
        assert exc.problems and all(p.line >= 1 and p.col >= 1 and p.message for p in exc.problems)
    assert time.monotonic() - start < PER_CASE_SECONDS, f"{path} = {value!r} took too long"


def test_one_key_mutated_through_the_cli_exits_0_or_2(tmp_path, run_cli):
    """A sample of mutations through the real CLI entry point: exit 0 or 2, never a traceback."""
    import random

    rng = random.Random(7)
    for path in rng.sample(PATHS, 25):
        doc = json.loads(json.dumps(REFERENCE))
        node = doc
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = rng.choice([None, -1, "", "x" * 70, {"a": 1}, [1, 2], True, 3.5])
        f = tmp_path / "topology.yaml"
        f.write_text(yaml.safe_dump(doc, sort_keys=False))
        code, _out, err = run_cli("validate", "-f", str(f))
        assert code in (0, 2), (path, code, err[-500:])
        assert "Traceback" not in err and "unexpected error" not in err, (path, err[-500:])


def test_yaml_11_lookalikes_round_trip_exactly():
    """Values PyYAML would turn into bool/int/float (NO, 0777, 1.10, yes, on, ~-less nulls) reach the containers as
    the user wrote them, whether the user quoted them or not."""
    raw = {"FLAG": "NO", "MODE": "0777", "VERSION": "1.10", "ENABLED": "yes", "SWITCH": "on", "HEX": "0x1F",
           "SEXAGESIMAL": "1:20", "EXP": "1e3"}
    text = MINIMAL.read_text().replace(
        "      DATABASE_URL: postgresql://shop@${db.host}:5432/shop\n",
        "      DATABASE_URL: postgresql://shop@${db.host}:5432/shop\n"
        + "".join(f"      {k}: {v}\n" for k, v in raw.items()))
    _topology, rendered = _render_all(text)
    files = {path: content for r in rendered for path, content in r.files.items()}
    compose = yaml.safe_load(files["compose/docker-compose.yml"])
    lightsail = json.loads(files["deploy/aws/lightsail-deployment.json"])
    for k, v in raw.items():
        assert compose["services"]["web"]["environment"][k] == v
        assert lightsail["containers"]["web"]["environment"][k] == v
