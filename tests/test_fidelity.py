"""Upstream fidelity table (harness/fidelity.py): every row's check passes on the reference topology and fails on a
topology that breaks that one fact — each variant is the rendering the real image would refuse."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness import fidelity
from harness.loader.schema import validate_schema
from harness.loader.semantic import build_model
from harness.loader.yamlmarks import load_yaml

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = (ROOT / "topology.yaml").read_text()

# fact id -> (old, new) edits of topology.yaml that break exactly that fact
BROKEN: dict[str, list[tuple[str, str]]] = {
    "redpanda-set-grammar": [('      - --set\n      - redpanda.superusers=["admin"]',
                              '      - --set=redpanda.superusers=["admin"]')],
    "redpanda-memory": [("      - --memory=1G ", "      - --smp=1 ")],
    "redpanda-default-deny": [(REFERENCE[REFERENCE.index("      acls:\n"):REFERENCE.index("\nsecrets:") + 1], "")],
    "redpanda-superusers": [('      - redpanda.superusers=["admin"]', '      - redpanda.superusers=["root"]')],
    "redpanda-scram-api": [("redpandadata/redpanda:v26.2.1", "redpandadata/redpanda:v24.2.7")],
    "redpanda-health": [("[rpk, cluster, health, --exit-when-healthy]", "[rpk, cluster, health]")],
    "dragonfly-memory-floor": [("--proactor_threads=1,\n              --maxmemory=256mb]",
                                "--proactor_threads=1,\n              --maxmemory=128mb]")],
    "dragonfly-flags": [("--dbfilename=, --proactor_threads=1", "--dbfilename=, --snapshot_every=1, --proactor_threads=1")],
    "dragonfly-registry": [("    registry_env: TOPO_DRAGONFLY_REGISTRY\n", "")],
    "postgres-init-health": [("[pg_isready, -h, 127.0.0.1, -U, deml, -d, deml]", "[pg_isready, -U, deml, -d, deml]")],
    "clickhouse-init-health": [("    healthcheck: {http: {path: /ping, port: http}}",
                                "    healthcheck: {command: [wget, -q, -O, /dev/null, 'http://127.0.0.1:8123/ping']}")],
}

# a one-token --set is also not applied, so the setting it carried is missing too
ALSO = {"redpanda-set-grammar": {"redpanda-superusers"}}


def model(text: str):
    data, marks = load_yaml(text, "topology.yaml")
    assert not validate_schema(data, "topology.yaml", marks)
    return build_model(data, "topology.yaml", marks)[0]


def broken(fact_id: str) -> str:
    text = REFERENCE
    for old, new in BROKEN[fact_id]:
        assert text.count(old) == 1, f"{fact_id}: edit target {old!r} must occur once in topology.yaml"
        text = text.replace(old, new)
    return text


def test_every_fact_has_a_source_a_standin_note_and_a_broken_variant():
    ids = [f.id for f in fidelity.FACTS]
    assert len(ids) == len(set(ids)) and sorted(ids) == sorted(BROKEN)
    for f in fidelity.FACTS:
        assert f.source and f.standin and f.verified in ("read", "read+run"), f.id


@pytest.mark.parametrize("fact", fidelity.FACTS, ids=lambda f: f.id)
def test_reference_topology_respects_the_fact(fact):
    assert fact.check(model(REFERENCE)) == []


@pytest.mark.parametrize("fact", fidelity.FACTS, ids=lambda f: f.id)
def test_a_rendering_breaking_the_fact_is_reported_with_its_location(fact):
    text = broken(fact.id)
    problems = fact.check(model(text))
    assert problems, f"{fact.id}: the broken variant passed its check"
    for p in problems:
        assert p.line > 1 and p.path, p  # located at the key that breaks it, not at 1:1
    others = [p for f in fidelity.FACTS if f.id != fact.id and f.id not in ALSO.get(fact.id, ())
              for p in f.check(model(text))]
    assert not others, f"the variant for {fact.id} also breaks: {[str(p) for p in others]}"


def test_topo_validate_refuses_the_pre_fix_rendering(tmp_path, run_cli):
    """The rendering before the fidelity fixes (one-token --set, no --memory, v24.2.7, app user without ACLs,
    Dragonfly at 128 MiB without threads) is refused by `topo validate` with each reason located."""
    old = REFERENCE
    for fid in ("redpanda-set-grammar", "redpanda-memory", "redpanda-scram-api", "redpanda-default-deny",
                "postgres-init-health"):
        for a, b in BROKEN[fid]:
            old = old.replace(a, b)
    old = old.replace("--proactor_threads=1,\n              --maxmemory=256mb]", "]")
    (tmp_path / "topology.yaml").write_text(old)
    for sql in ("app/sql",):
        (tmp_path / sql).mkdir(parents=True)
        for f in (ROOT / sql).iterdir():
            (tmp_path / sql / f.name).write_text(f.read_text())
    code, _out, err = run_cli("validate", "-f", str(tmp_path / "topology.yaml"))
    assert code == 2
    for needle in ("is one token", "no --memory", "no AlterUserScramCredentials", "has no ACLs",
                   "no --proactor_threads", "unix socket"):
        assert needle in err, needle


def test_images_ls_fidelity_prints_the_table(run_cli):
    code, out, _err = run_cli("images", "ls", "--fidelity", "--json", "-f", str(ROOT / "topology.yaml"))
    assert code == 0
    import json

    rows = json.loads(out)
    assert [r["id"] for r in rows] == [f.id for f in fidelity.FACTS]
    assert all(r["this topology"] == "respects it" for r in rows)
