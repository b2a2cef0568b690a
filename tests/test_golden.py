"""Golden renderings: each tests/golden/<case>/expected/ is exactly what the targets render from its topology.

After an intended change: `make golden`, review `git diff tests/golden`, commit.
"""
from __future__ import annotations

import pytest

from tests.golden.regenerate import cases, rendered


@pytest.mark.parametrize("case", cases(), ids=lambda p: p.name)
def test_rendering_matches_golden(case):
    got = rendered(case)
    expected_dir = case / "expected"
    on_disk = {str(p.relative_to(expected_dir)): p.read_text() for p in expected_dir.rglob("*") if p.is_file()}
    assert sorted(got) == sorted(on_disk), "a file appeared or vanished: run `make golden` and review"
    for rel, text in got.items():
        assert text == on_disk[rel], f"{case.name}/{rel} differs from golden: run `make golden` and review the diff"


def test_there_are_golden_cases():
    assert {c.name for c in cases()} >= {"minimal", "spot-snapped"}
