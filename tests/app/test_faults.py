"""Fault injection rules: the contracts rely on `name@K` firing deterministically and a bounded number of times."""
from __future__ import annotations

import pytest

from deml import faults


@pytest.fixture
def rules(monkeypatch):
    def use(spec: str) -> None:
        monkeypatch.setattr(faults, "FAULTS", faults.parse(spec))
        monkeypatch.setattr(faults, "_seen", {})
        monkeypatch.setattr(faults, "_due", {})
    return use


def test_parse_reads_probability_every_and_bare_names():
    assert faults.parse("a:0.25, b@75,c,") == {"a": 0.25, "b": 75, "c": 1.0}
    assert faults.parse("") == {}


@pytest.mark.parametrize("spec", ["a:x", "b@0", "b@-3", "b@1.5"])
def test_parse_rejects_bad_items_with_a_message(spec):
    with pytest.raises(SystemExit, match="DEML_FAULTS: .* is not name"):
        faults.parse(spec)


def test_every_k_fires_at_the_first_point_after_k_units_whatever_the_batch_sizes(rules):
    rules("crash@75")
    batches = [10, 50, 20, 3, 200, 1, 74, 2, 5]  # units before each: 0 10 60 80 83 283 284 358 360
    fired = [faults.fires("crash", n) for n in batches]
    # fires at 80 (>= 75, next due 155), at 283 (next due 358), at 358
    assert fired == [False, False, False, True, False, True, False, True, False]


def test_a_process_finishes_k_units_before_it_fails_even_with_big_batches(rules):
    """A broken variant redelivers every batch as new: the first batch of each process must pass, or it livelocks."""
    rules("crash@75")
    assert not faults.fires("crash", 200)
    assert faults.fires("crash", 200)


def test_every_k_always_fires_once_k_units_passed(rules):
    rules("crash@300")
    assert not any(faults.fires("crash") for _ in range(300))
    assert faults.fires("crash")


def test_unknown_or_absent_faults_never_fire(rules):
    rules("other")
    assert not faults.fires("crash", 1000)
    assert faults.fires("other")
