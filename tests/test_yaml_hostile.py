"""The YAML layer against an outside tester: merge keys, alias bombs, tags, control bytes, YAML 1.1 rewrites.

Cases are written from the YAML 1.1/1.2 specs (tests/malformed/yaml_cases.py, tests/valid/); each asserts the
exact verdict: the located problem to the character, or the loaded values.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.errors import TopologyError
from harness.loader import load, load_text, yamlmarks
from harness.loader.yamlmarks import MAX_ALIAS_EXPANSIONS, MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES
from tests.conftest import ROOT
from tests.malformed.cases import BASE
from tests.malformed.yaml_cases import CASES

VALID = ROOT / "tests" / "valid"

# "billion laughs": 9 aliases per level, 9 levels → 9^9 (387 million) scalars once expanded, from ~1 KB of text
LOL = "lol: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"l{i}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
BOMB = BASE + "x-laughs:\n" + "".join(f"  {line}\n" for line in LOL.splitlines())
BOMB += "x-padding: " + "#" * (10_000 - len(BOMB)) + "\n"  # ~10 KB, the size of a real topology


def problems(text: str) -> list[str]:
    with pytest.raises(TopologyError) as info:
        load_text(text, "topology.yaml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_located_problem(name):
    text, expected = CASES[name]
    assert problems(text) == [f"topology.yaml:{expected}"]


@pytest.mark.parametrize("name", ["tag-python-object", "nul-in-value", "env-tilde", "merge-unknown-key-points-at-origin"])
def test_cli_exits_2_without_traceback(name, tmp_path, run_cli):
    text, expected = CASES[name]
    (tmp_path / "topology.yaml").write_text(text, newline="")
    code, out, err = run_cli("validate", cwd=tmp_path)
    assert code == 2
    assert f"topology.yaml:{expected}" in err
    assert "Traceback" not in err + out


# --- alias bomb and the loader limits -----------------------------------------------------------------------

def test_alias_bomb_is_refused_fast_and_located(tmp_path, run_cli):
    assert 9_500 < len(BOMB.encode()) < 10_500
    (tmp_path / "topology.yaml").write_text(BOMB)
    start = time.monotonic()
    code, out, err = run_cli("validate", cwd=tmp_path)
    elapsed = time.monotonic() - start
    assert code == 2
    assert elapsed < 2.0, f"the alias bomb took {elapsed:.2f}s to refuse"
    # the outermost alias being expanded when the count passed the limit: the first *d of `l3: &e [...]`
    assert err.splitlines()[0] == (
        f"topology.yaml:69:11: x-laughs.l3[0]: more than {MAX_ALIAS_EXPANSIONS} alias expansions; aliases repeat "
        "what they name; an alias of aliases multiplies it (an alias bomb?)")
    assert "Traceback" not in err + out
    assert BOMB.splitlines()[68].startswith("  l3: &e [*d")


def test_wide_alias_fanout_hits_the_node_limit():
    # few aliases, each naming a big list: the node limit trips before the alias limit, at the 49th `*w`
    wide = "x-wide: &w [" + ", ".join(["a"] * 2_000) + "]\n"
    text = BASE + wide + "x-many: [" + ", ".join(["*w"] * 60) + "]\n"
    assert problems(text) == [
        f"topology.yaml:65:{10 + 4 * 48}: x-many[48]: the document expands to more than {MAX_NODES} nodes; aliases repeat what "
        "they name; an alias of aliases multiplies it (an alias bomb?)"]


def test_merge_bomb_is_refused():
    # merges de-duplicate keys, so the output stays small, but the work would not: it is counted too
    text = BASE + "x-m0: &m0 {a: 1, b: 2}\n" + "".join(
        f"x-m{i + 1}: &m{i + 1} {{<<: [" + ", ".join([f"*m{i}"] * 9) + "]}\n" for i in range(12))
    start = time.monotonic()
    (problem,) = problems(text)
    assert time.monotonic() - start < 2.0
    # the first alias of x-m4's `<<` list, the outermost one being expanded when the count passed the limit
    assert text.splitlines()[67].startswith("x-m4: &m4 {<<: [*m3")
    assert problem == (f"topology.yaml:68:17: x-m4: more than {MAX_ALIAS_EXPANSIONS} alias expansions; aliases "
                       "repeat what they name; an alias of aliases multiplies it (an alias bomb?)")


def test_deep_nesting_is_refused_where_it_passes_the_limit():
    # the root mapping is level 1, so the 100th `[` (column 8 + 100) opens level 101
    text = BASE + "x-deep: " + "[" * 3_000 + "]" * 3_000 + "\n"
    assert problems(text) == [
        f"topology.yaml:64:{8 + MAX_DEPTH}: nested more than {MAX_DEPTH} levels deep; a topology needs fewer "
        "than 10 levels; flatten the structure"]


def test_deep_nesting_built_from_aliases_is_refused():
    # each alone is 62 levels deep; the alias (column 11 + 60) nests one in the other
    text = BASE + "x-d0: &d0 " + "[" * 60 + "]" * 60 + "\n" + "x-d1: &d1 " + "[" * 60 + "*d0" + "]" * 60 + "\n"
    (problem,) = problems(text)
    assert problem == (f"topology.yaml:65:71: x-d1{'[0]' * 60}: nested more than {MAX_DEPTH} levels deep once "
                       "aliases are expanded; a topology needs fewer than 10 levels; flatten the structure")


def test_oversized_text_is_refused_before_parsing():
    text = BASE + "x-big: " + "a" * MAX_FILE_BYTES + "\n"
    assert problems(text) == [
        f"topology.yaml:1:1: the file is larger than {MAX_FILE_BYTES // 1024} KiB; a topology is a hand-written file "
        "of a few KiB; is this the right file?"]


def test_oversized_file_is_not_read_whole(tmp_path, run_cli):
    path = tmp_path / "topology.yaml"
    path.write_bytes(BASE.encode() + b"x-big: " + b"a" * (4 * MAX_FILE_BYTES) + b"\n")
    code, _, err = run_cli("validate", "-f", str(path))
    assert code == 2
    assert f"{path}:1:1: the file is larger than {MAX_FILE_BYTES // 1024} KiB" in err


def test_limits_sit_far_above_the_reference_topology():
    """The reference must stay at most 1/10 of every limit (the comment beside the limits says its numbers)."""
    text = (ROOT / "topology.yaml").read_text()
    loader = yamlmarks._Loader(text, "topology.yaml")
    root = loader.get_single_node()
    builder = yamlmarks._Builder("topology.yaml")
    builder.build(root, "")
    deepest = max(key.count(".") + key.count("[") for key in builder.marks) + 1
    assert builder.nodes * 100 <= MAX_NODES
    assert builder.aliases * 100 <= MAX_ALIAS_EXPANSIONS
    assert deepest * 10 <= MAX_DEPTH
    assert len(text.encode()) * 10 <= MAX_FILE_BYTES


# --- bytes that are not UTF-8 text --------------------------------------------------------------------------

def test_non_utf8_byte_is_located(tmp_path, run_cli):
    path = tmp_path / "topology.yaml"
    path.write_bytes(BASE.encode().replace(b"power: micro", b"power: mi\xe9cro"))  # Latin-1 é
    offset = BASE.encode().index(b"power: micro") + len(b"power: mi")
    code, out, err = run_cli("validate", "-f", str(path))
    assert code == 2
    assert f"{path}:8:14: not UTF-8 text (byte {offset}); save the file as UTF-8" in err
    assert "Traceback" not in err + out


def test_non_utf8_after_multibyte_characters_counts_characters(tmp_path, run_cli):
    path = tmp_path / "topology.yaml"
    path.write_bytes("version: 1\nproject: ééé".encode() + b"\xff\n")
    code, _, err = run_cli("validate", "-f", str(path))
    assert code == 2
    assert f"{path}:2:13: not UTF-8 text (byte 26); save the file as UTF-8" in err


def test_utf8_bom_is_accepted():
    topology, _ = load_text("\ufeff" + BASE, "topology.yaml")
    assert topology.project == "shop"


# --- what loads: merge keys and text kept as written --------------------------------------------------------

def env(path: Path, service: str) -> dict[str, str]:
    topology, _ = load(path)
    return dict(next(s for s in topology.services if s.name == service).env)


def test_merge_with_overrides():
    topology, warnings = load(VALID / "merge-override.yaml")
    web = next(s for s in topology.services if s.name == "web")
    broker = next(s for s in topology.services if s.name == "broker")
    assert web.env == (("DATABASE_URL", "postgresql://shop@${db.host}:5432/shop"),
                       ("BROKERS", "${broker.host}:${broker.port.kafka}"), ("LOG_LEVEL", "debug"))
    assert (web.resources.cpu, web.resources.memory_mib) == (0.25, 512)
    # `{cpu: 0.5, <<: *small, memory: 2Gi}`: both written keys win, wherever they stand
    assert (broker.resources.cpu, broker.resources.memory_mib) == (0.5, 2048)


def test_merge_list_first_mapping_wins_and_written_keys_win_over_all():
    assert env(VALID / "merge-list.yaml", "web") == {
        "LOG_LEVEL": "info", "TIMEOUT": "5s", "REGION": "ap", "BROKERS": "${broker.host}:${broker.port.kafka}",
        "DATABASE_URL": "postgresql://shop@${db.host}:5432/shop"}


def test_merged_keys_keep_their_origin_marks_and_overrides_their_own():
    from harness.loader.yamlmarks import Mark, load_yaml

    _, marks = load_yaml((VALID / "merge-override.yaml").read_text(), "topology.yaml")
    text = (VALID / "merge-override.yaml").read_text().splitlines()
    assert text[22].startswith("  DATABASE_URL:") and marks["services.web.env.DATABASE_URL"] == Mark(23, 3)
    # LOG_LEVEL is merged (line 22) and overridden (line 42): the override's mark
    assert text[41].strip() == "LOG_LEVEL: debug" and marks["services.web.env.LOG_LEVEL"] == Mark(42, 7)
    assert text[23].startswith("x-small: &small {cpu") and marks["services.web.resources.cpu"] == Mark(24, 18)
    assert text[56].startswith("    resources: {cpu: 0.5, <<")
    assert marks["services.broker.resources.cpu"] == Mark(57, 17)  # written before the `<<`, still wins
    assert "services.web.env.<<" not in marks


def test_yaml11_env_values_and_command_items_keep_their_source_text():
    values = env(VALID / "yaml11-strings.yaml", "web")
    assert {k: v for k, v in values.items() if k not in ("BROKERS", "DATABASE_URL")} == {
        "COUNTRY": "NO", "VERBOSE": "yes", "UMASK": "0777", "VERSION": "1.10", "FEATURE": "on", "MASK": "0x1F",
        "BIG": "1_000", "SINCE": "2026-11-27", "LIMIT": ".inf", "ENABLED": "True", "EMPTY": "", "TILDE": "~"}
    topology, _ = load(VALID / "yaml11-strings.yaml")
    web = next(s for s in topology.services if s.name == "web")
    assert web.command == ("shop", "web", "--port", "8080", "--debug", "no")


def test_yaml11_values_render_quoted(tmp_path, run_cli):
    code, _, err = run_cli("render", "compose", "-f", str(VALID / "yaml11-strings.yaml"), "-o", str(tmp_path))
    assert code == 0, err
    compose = (tmp_path / "compose" / "docker-compose.yml").read_text()
    for line in ("COUNTRY: 'NO'", "UMASK: '0777'", "VERSION: '1.10'", "TILDE: '~'"):
        assert f"      {line}\n" in compose


@pytest.mark.parametrize("name", sorted(p.name for p in VALID.glob("*.yaml")))
def test_valid_topologies_validate(name, run_cli):
    code, out, err = run_cli("validate", "-f", str(VALID / name))
    assert code == 0, err
    assert "Traceback" not in out + err


def test_reference_topology_loads_with_its_aliases():
    topology, _ = load(ROOT / "topology.yaml")
    apps = [s for s in topology.services if s.role == "app"]
    assert len(apps) >= 5
    contracts = {s.env for s in apps}
    assert len(contracts) == 1  # every app got the same `*contract`, in the same order
    assert dict(apps[0].env)["REDPANDA_SASL_MECHANISM"] == "SCRAM-SHA-256"


def test_empty_file_hint_is_true(tmp_path, run_cli):
    (tmp_path / "topology.yaml").write_text("# nothing yet\n")
    code, _, err = run_cli("validate", cwd=tmp_path)
    assert code == 2
    assert ("topology.yaml:1:1: the file is empty; start with `version: 1`, `project:`, `services:` — see "
            "topology.yaml in the repository") in " ".join(err.split())
    assert "topo init" not in err
