"""Hypothesis fuzz of the loader: whatever the bytes, only TopologyError escapes (never a raw exception)."""
from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import TopologyError
from harness.loader import load_text
from tests.malformed.cases import BASE

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _load(text: str) -> None:
    try:
        load_text(text, "topology.yaml")
    except TopologyError as exc:
        assert exc.problems, "a TopologyError must carry at least one problem"
        for p in exc.problems:
            assert p.line >= 1 and p.col >= 1 and p.message


@SETTINGS
@given(st.text(max_size=400))
def test_arbitrary_text(text):
    _load(text)


@SETTINGS
@given(st.integers(0, len(BASE)), st.integers(0, 40), st.text(max_size=12))
def test_edits_of_a_valid_topology(at, cut, insert):
    _load(BASE[:at] + insert + BASE[at + cut:])


@SETTINGS
@given(st.lists(st.integers(0, BASE.count("\n")), min_size=1, max_size=6))
def test_lines_dropped(drop):
    lines = BASE.splitlines(keepends=True)
    _load("".join(line for i, line in enumerate(lines) if i not in set(drop)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.floats(allow_nan=False, width=32) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["version", "project", "services", "images", "tenants", "aws", "topics",
                                        "kafka", "secrets", "budget", "zzz"]), json_values, max_size=8))
def test_structured_garbage(doc):
    _load(yaml.safe_dump(doc))


@SETTINGS
@given(st.sampled_from(["services", "images", "tenants", "aws", "topics", "kafka", "secrets"]), json_values)
def test_one_section_replaced(section, value):
    doc = yaml.safe_load(BASE)
    doc[section] = value
    _load(yaml.safe_dump(doc))
