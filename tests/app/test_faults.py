"""Fault injection rules: the contracts rely on `name@K` firing deterministically and a bounded number of times."""
from __future__ import annotations

import pytest

from deml import faults


@pytest.fixture
def rules(monkeypatch):
    def use(spec: str) -> None:
        monkeypatch.setattr(faults, "FAULTS", faults.parse(spec))
        monkeypatch.setattr(faults, "_seen", {})
    return use


def test_parse_reads_probability_every_and_bare_names():
    assert faults.parse("a:0.25, b@75,c,") == {"a": 0.25, "b": 75, "c": 1.0}
    assert faults.parse("") == {}


@pytest.mark.parametrize("spec", ["a:x", "b@0", "b@-3", "b@1.5"])
def test_parse_rejects_bad_items_with_a_message(spec):
    with pytest.raises(SystemExit, match="DEML_FAULTS: .* is not name"):
        faults.parse(spec)


def test_every_k_units_fires_once_per_k_whatever_the_batch_sizes(rules):
    rules("crash@75")
    batches = [10, 50, 20, 3, 74, 1, 200, 2]  # 360 units: the 75, 150, 225 and 300 marks lie in batches 3, 5, 7
    fired = [faults.fires("crash", n) for n in batches]
    assert fired == [False, False, True, False, True, False, True, False]


def test_every_k_always_fires_once_k_units_passed(rules):
    rules("crash@300")
    assert not any(faults.fires("crash") for _ in range(299))
    assert faults.fires("crash")


def test_unknown_or_absent_faults_never_fire(rules):
    rules("other@1")
    assert not faults.fires("crash", 1000)
    assert faults.fires("other")
