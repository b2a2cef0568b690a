"""Regenerate the golden renderings: `make golden` (or `python -m tests.golden.regenerate`).

Each folder under tests/golden/ holds a topology.yaml; its expected/ folder holds what every target renders from
it, plus notes.txt (what the targets said they could not represent). Review the diff before committing.
"""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from harness.loader import load
from harness.render import render

GOLDEN = Path(__file__).parent


def cases() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if (p / "topology.yaml").is_file())


def rendered(case: Path) -> dict[str, str]:
    topology, warnings = load(case / "topology.yaml")
    topology = dataclasses.replace(topology, file="topology.yaml")
    files: dict[str, str] = {}
    notes = [str(w).split(":", 1)[1] for w in warnings]
    for r in render(topology):
        files.update(r.files)
        notes += [str(n).split(":", 1)[1] for n in r.notes]
    files["notes.txt"] = "".join(f"{n}\n" for n in notes)
    return files


def main() -> None:
    for case in cases():
        expected = case / "expected"
        shutil.rmtree(expected, ignore_errors=True)
        for rel, text in rendered(case).items():
            path = expected / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        print(f"regenerated {expected.relative_to(GOLDEN.parent.parent)}")


if __name__ == "__main__":
    main()
