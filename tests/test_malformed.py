"""Every malformed topology yields exactly one located, actionable problem — and exit 2 with no traceback."""
from __future__ import annotations

import pytest

from harness.errors import TopologyError
from harness.loader import load_text
from tests.malformed.cases import CASES


def test_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_located_problem(name):
    text, expected = CASES[name]
    with pytest.raises(TopologyError) as info:
        load_text(text, "topology.yaml")
    assert [str(p) for p in info.value.problems] == [f"topology.yaml:{expected}"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_exits_2_without_traceback(name, tmp_path, run_cli):
    text, expected = CASES[name]
    (tmp_path / "topology.yaml").write_text(text)
    code, out, err = run_cli("validate", cwd=tmp_path)
    assert code == 2
    assert f"topology.yaml:{expected}" in err
    assert "Traceback" not in err + out
    assert "1 problem found; nothing was written." in err


def test_missing_file_is_located(tmp_path, run_cli):
    code, _, err = run_cli("validate", "-f", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert f"{tmp_path / 'nope.yaml'}:1:1: file not found; run topo in the folder holding topology.yaml, or pass -f PATH" in err


def test_binary_file_is_located(tmp_path, run_cli):
    path = tmp_path / "topology.yaml"
    path.write_bytes(b"version: 1\nproject: \xff\xfe\n")
    code, _, err = run_cli("validate", "-f", str(path))
    assert code == 2
    assert "not UTF-8 text (byte 20); save the file as UTF-8" in err


def test_empty_file(tmp_path, run_cli):
    (tmp_path / "topology.yaml").write_text("# nothing yet\n")
    code, _, err = run_cli("validate", cwd=tmp_path)
    assert code == 2
    assert "topology.yaml:1:1: the file is empty" in err


def test_every_problem_reported_at_once():
    from tests.malformed.cases import edit

    text = edit(("power: micro", "power: mikro"), ("    image: app\n", "    image: ap\n"))
    with pytest.raises(TopologyError) as info:
        load_text(text, "topology.yaml")
    paths = [p.path for p in info.value.problems]
    assert paths == ["aws.lightsail.power", "services.web.image"]
