"""Which broken variant each contract area has been shown to catch — recorded from the tests' own results.

A broken-variant test runs a contract's check against a deliberately broken input or app and passes only when the
check FAILS on it (a check that cannot fail proves nothing). Mark such a test with the area it proves and the
variant it breaks:

    @pytest.mark.catches("contracts/test_outbox.py", variant="publish outside the transaction")
    def test_publishing_outside_the_transaction_is_caught(topo_stack, ...):
        with pytest.raises(AssertionError, match="..."):
            check_...(..., variant=broken)

    # one test, several areas: stack the marker
    @pytest.mark.catches("contracts/test_secrets.py", variant="frontend holds an undeclared secret")

The first argument is the contract module (path from the repo root, or just its file name); `variant` says in
words what is broken. The marker is registered by tests/conftest.py, which at the end of every pytest session writes
each marked test's outcome (passed = the contract caught the variant; failed = it did not) with the time and the git
commit into reports/broken-variants.json (TOPO_BROKEN_VARIANTS overrides the path) — one row per (test, variant), the
latest result kept, skipped or deselected tests leave their last row alone. The contract report (contracts/plugin.py:
Markdown, HTML, JSON) shows the table "area → variant → caught → when", and "no broken variant on record" for an
area without one. `make test` runs pytest before `topo gate`, so the gate's report shows that run's results.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

MARKER = "catches"
MARKER_HELP = ("catches(area, variant=...): this broken-variant test passes only if the contract area "
               "(e.g. 'contracts/test_outbox.py') catches the variant; recorded in reports/broken-variants.json")
NONE_ON_RECORD = "no broken variant on record"


def default_path(root: Path) -> Path:
    return Path(os.environ.get("TOPO_BROKEN_VARIANTS") or root / "reports" / "broken-variants.json")


def area_of(module: str) -> str:
    """'contracts/test_outbox.py' (or 'test_outbox.py', 'outbox') → 'outbox', the area name of the contract report."""
    return module.split("::")[0].split("/")[-1].removeprefix("test_").removesuffix(".py")


def areas_in(folder: Path) -> list[str]:
    """Every contract area: one module contracts/test_*.py each."""
    return sorted(area_of(p.name) for p in folder.glob("test_*.py"))


def git_commit(root: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        commit = out.stdout.strip()
        if not commit:
            return "unknown"
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def rows_of(item, outcome: str, when: float, commit: str) -> list[dict]:
    """The rows of one marked test item (one per `catches` marker) for an outcome 'passed' or 'failed'."""
    rows = []
    for marker in item.iter_markers(MARKER):
        if not marker.args or not marker.kwargs.get("variant"):
            raise ValueError(f"{item.nodeid}: write @pytest.mark.catches('contracts/test_AREA.py', variant='...')")
        rows.append({"test": item.nodeid, "contract": marker.args[0], "area": area_of(marker.args[0]),
                     "variant": marker.kwargs["variant"], "caught": outcome == "passed", "outcome": outcome,
                     "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)), "commit": commit})
    return rows


def load(path: Path) -> list[dict]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return []
    return [r for r in data.get("variants", []) if isinstance(r, dict)] if isinstance(data, dict) else []


def merge(old: list[dict], new: list[dict]) -> list[dict]:
    """One row per (test, area, variant): a new result replaces the old one; rows of tests not run now stay."""
    key = lambda r: (r.get("test", ""), r.get("area", ""), r.get("variant", ""))  # noqa: E731
    rows = {key(r): r for r in old}
    rows.update({key(r): r for r in new})
    return sorted(rows.values(), key=lambda r: (r.get("area", ""), r.get("variant", ""), r.get("test", "")))


def record(path: Path, new: list[dict]) -> None:
    if not new:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = merge(load(path), new)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"about": "broken variants each contract area has been shown to catch (contracts/variants.py)",
                               "variants": rows}, indent=2) + "\n")
    tmp.replace(path)


def table(areas: list[str], rows: list[dict]) -> list[dict]:
    """Rows "area → variant → caught → when" for every area (areas with a record first in area order); an area
    without a record gets one row with variant None."""
    out = []
    for area in sorted(set(areas) | {r.get("area", "") for r in rows}):
        mine = [r for r in rows if r.get("area") == area]
        if not mine:
            out.append({"area": area, "variant": None, "caught": None, "when": "", "commit": "", "test": ""})
        for r in mine:
            out.append({"area": area, "variant": r.get("variant"), "caught": bool(r.get("caught")),
                        "when": r.get("when", ""), "commit": r.get("commit", ""), "test": r.get("test", "")})
    return out


def markdown(rows: list[dict]) -> list[str]:
    md = ["## Broken variants each contract area has been shown to catch", "",
          "From the broken-variant tests' own results (`@pytest.mark.catches`, reports/broken-variants.json); "
          "caught = the contract failed on the broken variant, as it must.", "",
          "| area | broken variant | caught | when (commit) |", "|---|---|---|---|"]
    for r in rows:
        if r["variant"] is None:
            md.append(f"| {r['area']} | _{NONE_ON_RECORD}_ | — | — |")
        else:
            param = r["test"].partition("[")[2].rstrip("]")  # a parametrized test: one row per case
            md.append(f"| {r['area']} | {r['variant']}{f' [{param}]' if param else ''} | "
                      f"{'✅ yes' if r['caught'] else '❌ NO'} | "
                      f"{r['when']} ({r['commit']}) |")
    return md
