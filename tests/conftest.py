from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "tests" / "golden" / "minimal" / "topology.yaml"
TOPOLOGY = (ROOT / "topology.yaml").read_text()


def edited(*edits: tuple[str, str]) -> str:
    """The reference topology's text with each (old, new) replaced; old must occur exactly once."""
    text = TOPOLOGY
    for old, new in edits:
        assert text.count(old) == 1, f"the reference topology no longer has exactly one {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def run_cli(monkeypatch, capsys):
    """Run `topo ARGS` in-process; return (exit code, stdout, stderr)."""
    from harness import cli

    def run(*args: str, cwd: Path | None = None):
        if cwd is not None:
            monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["topo", *args])
        code = 0
        try:
            cli.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


# ---- broken variants on record (contracts/variants.py explains the marker) ------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    from contracts import variants

    config.addinivalue_line("markers", variants.MARKER_HELP)
    config._topo_variant_rows = []  # type: ignore[attr-defined]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and item.get_closest_marker("docker") is not None:
        # in CI a Docker test never skips silently: CI builds every image and starts every service first
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which counts as a failure: {reason}"
    if report.when != "call" or report.skipped or item.get_closest_marker("catches") is None:
        return  # only a test that ran its check is a result; a skipped one leaves its last row alone
    import time

    from contracts import variants

    rows = getattr(item.config, "_topo_variant_rows", None)
    if rows is not None:
        rows.extend(variants.rows_of(item, "passed" if report.passed else "failed", time.time(),
                                     variants.git_commit(ROOT)))


def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    from contracts import variants

    rows = getattr(session.config, "_topo_variant_rows", None)
    if rows:
        variants.record(variants.default_path(ROOT), rows)

