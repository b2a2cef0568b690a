"""`topo migrate`'s data equivalence report: the pure comparisons, each shown to catch a deliberately broken copy
(a dropped partition, a duplicated message, reordered messages, lost headers, a missing table row, a changed row,
a projection counted twice, writes after the freeze). No Docker: the live switch is bench/migrate.py."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness import migrate as m

ROOT = Path(__file__).resolve().parent.parent


def envelope(i: int, tenant: str = "acme", type_: str = "page.view", source: str = "frontend") -> dict:
    return {"event_id": f"ev-{i}", "tenant_id": tenant, "type": type_, "source": source, "payload": {"i": i}}


def log(n: int = 6, partitions: int = 2) -> dict[int, list[tuple]]:
    """A fake topic: partition → [(key, value, headers)] in offset order."""
    out: dict[int, list[tuple]] = {p: [] for p in range(partitions)}
    for i in range(n):
        env = envelope(i, tenant=("acme", "globex")[i % 2])
        out[i % partitions].append((env["tenant_id"].encode(), json.dumps(env).encode(), [("trace", f"t{i}".encode())]))
    return out


def items(msgs) -> list[tuple[str, str]]:
    return [(m.message_id(k, v), m.message_fingerprint(k, v, h)) for k, v, h in msgs]


def copy_and_compare(src: dict, copy) -> list[dict]:
    dst = copy({p: list(v) for p, v in src.items()})
    return [m.partition_result("frontend-events", p, items(src[p]), items(dst.get(p, []))) for p in sorted(src)]


# ---- broken copies of a topic -----------------------------------------------------------------------------------

def faithful(d):
    return d


def drop_partition(d):
    d.pop(1)
    return d


def duplicate_one(d):
    d[0].insert(1, d[0][1])
    return d


def reorder(d):
    d[0][0], d[0][1] = d[0][1], d[0][0]
    return d


def lose_headers(d):
    d[1] = [(k, v, None) for k, v, _h in d[1]]
    return d


def test_faithful_copy_passes():
    results = copy_and_compare(log(), faithful)
    assert all(r["ok"] for r in results), results
    assert results[0]["digest_from"] == results[0]["digest_to"]


def test_dropped_partition_is_lost_messages_with_their_event_ids():
    r = copy_and_compare(log(), drop_partition)[1]
    assert not r["ok"] and r["lost"] == 3 and r["to"] == 0
    assert r["examples"]["lost"] == ["ev-1", "ev-3", "ev-5"]


def test_duplicated_message_is_counted_and_named():
    r = copy_and_compare(log(), duplicate_one)[0]
    assert not r["ok"] and r["duplicated"] == 1 and r["lost"] == 0 and r["to"] == r["from"] + 1
    assert r["examples"]["duplicated"] == ["ev-2"]


def test_reordered_messages_fail_although_nothing_is_lost():
    r = copy_and_compare(log(), reorder)[0]
    assert not r["ok"] and r["reordered"] and r["lost"] == 0 and r["duplicated"] == 0
    assert r["from"] == r["to"] and r["digest_from"] != r["digest_to"]
    assert "ev-2" in r["examples"]["reordered"][0]


def test_lost_headers_are_a_changed_message():
    r = copy_and_compare(log(), lose_headers)[1]
    assert not r["ok"] and r["changed"] == 3 and r["lost"] == 0


def test_message_key_is_part_of_the_fingerprint():
    assert m.message_fingerprint(b"acme", b"v", None) != m.message_fingerprint(b"globex", b"v", None)
    assert m.message_fingerprint(None, b"v", None) != m.message_fingerprint(b"", b"v", None)
    assert m.message_id(b"acme", b"not json") == "acme"


# ---- tables -------------------------------------------------------------------------------------------------------

ROWS = [(f"id-{i}", m.fingerprint("id", i, "payload", i * 7)) for i in range(5)]


def test_identical_tables_pass():
    r = m.table_result("postgres", "actions", ROWS, list(reversed(ROWS)), "abc", "abc")
    assert r["ok"] and r["from"] == r["to"] == 5


def test_missing_row_is_lost_with_its_key():
    r = m.table_result("postgres", "actions", ROWS, ROWS[:2] + ROWS[3:], "abc", "abd")
    assert not r["ok"] and r["lost"] == 1 and r["examples"]["lost"] == ["id-2"]


def test_changed_row_is_changed_not_lost_plus_unexpected():
    changed = ROWS[:4] + [("id-4", m.fingerprint("id", 4, "payload", "edited"))]
    r = m.table_result("postgres", "actions", ROWS, changed, "abc", "abd")
    assert not r["ok"] and r["changed"] == 1 and r["lost"] == 0 and r["unexpected"] == 0
    assert r["examples"]["changed"] == ["id-4"]


def test_duplicated_row_and_unexpected_row():
    r = m.table_result("clickhouse", "deml.events", ROWS, ROWS + [ROWS[0], ("id-9", "f" * 32)], "5/1", "7/2")
    assert not r["ok"] and r["duplicated"] == 1 and r["unexpected"] == 1


def test_checksum_difference_alone_fails_the_table():
    r = m.table_result("postgres", "tenants", ROWS, ROWS, "abc", "xyz")
    assert not r["ok"] and r["examples"]["checksum"] == ["abc ≠ xyz"]


# ---- Firestore counters -------------------------------------------------------------------------------------------

def test_contribution_follows_the_projection():
    c = m.contribution([envelope(1), envelope(2, type_="tenant.tick", source="cron")])
    assert c["acme"] == {"events_total": 2, "by_type.page_view": 1, "by_type.tenant_tick": 1, "by_source.frontend": 1,
                         "by_source.cron": 1, m.MARKERS: 2, m.PROJECTIONS: 1}


def counters(total: int, ticks: int) -> dict:
    return {"events_total": total, "by_type.tenant_tick": ticks, m.MARKERS: total}


def test_tos_growth_equals_from_minus_the_absorbed_overlap():
    from_counts = {"acme": counters(10, 4)}
    overlap = m.contribution([envelope(1, type_="tenant.tick", source="cron")])  # TO had ticked that bucket too
    before = {"acme": counters(3, 3)}
    rows = m.counters_result(from_counts, before, {"acme": counters(3 + 9, 3 + 3)}, overlap)
    assert all(r["ok"] for r in rows if r["counter"] in ("events_total", "by_type.tenant_tick", m.MARKERS)), rows


def test_overlap_counted_twice_fails():
    """The broken worker: the copied tick TO had already processed is counted again (no marker check)."""
    overlap = m.contribution([envelope(1, type_="tenant.tick", source="cron")])
    rows = m.counters_result({"acme": counters(10, 4)}, {"acme": counters(3, 3)}, {"acme": counters(13, 7)}, overlap)
    bad = {r["counter"] for r in rows if not r["ok"]}
    assert {"events_total", "by_type.tenant_tick", m.MARKERS} <= bad


def test_projection_missing_on_to_fails():
    rows = m.counters_result({"acme": counters(10, 0)}, {}, {"acme": counters(9, 0)})
    assert [r["counter"] for r in rows if not r["ok"]] == ["events_total", m.MARKERS]


# ---- verdict and report ---------------------------------------------------------------------------------------------

def report(**parts) -> dict:
    base = {"from": {"target": "railway-emulation", "project": "deml-rw"},
            "to": {"target": "aws-emulation", "project": "deml-aws"},
            "postgres": [m.table_result("postgres", "actions", ROWS, ROWS, "a", "a")],
            "clickhouse": [m.table_result("clickhouse", "deml.events", ROWS, ROWS, "5/1", "5/1")],
            "topics": copy_and_compare(log(), faithful),
            "firestore": m.counters_result({"acme": counters(1, 0)}, {}, {"acme": counters(1, 0)}),
            "freeze": {"writes_after_freeze": {}}, "seconds": {"write_downtime": 12.5}}
    base.update(parts)
    base["verdict"] = m.verdict(base)
    return base


def test_verdict_passes_a_faithful_migration_and_renders_it():
    r = report()
    assert r["verdict"]["ok"] and r["verdict"]["lost"] == 0 and r["verdict"]["duplicated"] == 0
    text = m.render(r)
    assert "PASS: lost 0, duplicated 0" in text and "deml.events" in text and "frontend-events" in text


@pytest.mark.parametrize("broken, expect", [
    (lambda: {"topics": copy_and_compare(log(), drop_partition)}, "topic frontend-events[1]: FROM 3, TO 0: lost 3"),
    (lambda: {"topics": copy_and_compare(log(), duplicate_one)}, "topic frontend-events[0]: FROM 3, TO 4: duplicated 1"),
    (lambda: {"topics": copy_and_compare(log(), reorder)}, "topic frontend-events[0]: FROM 3, TO 3: reordered"),
    (lambda: {"postgres": [m.table_result("postgres", "outbox", ROWS, ROWS[1:], "a", "b")]},
     "postgres outbox: FROM 5, TO 4: lost 1"),
    (lambda: {"firestore": m.counters_result({"acme": counters(2, 0)}, {}, {"acme": counters(1, 0)})},
     "firestore tenants/acme events_total: FROM 2"),
    (lambda: {"freeze": {"writes_after_freeze": {"internal-tasks[0]": 3}}}, "the freeze did not hold"),
    (lambda: {"contracts": {"ok": False, "verdict": "FAILED", "total": 52, "violated": 1, "skipped": 0,
                            "failed": ["outbox::test_a_committed_action_yields_exactly_one_event"], "events": 200,
                            "seconds": 300.0, "report": "reports/migrate-contracts-x/contracts.md"}},
     "the contracts on TO did not pass (FAILED): 1 violated of 52"),
])
def test_verdict_fails_each_broken_copy_with_its_evidence(broken, expect):
    r = report(**broken())
    assert not r["verdict"]["ok"]
    assert any(e.startswith(expect) for e in r["verdict"]["evidence"]), r["verdict"]["evidence"]
    assert "FAIL:" in m.render(r)


def test_passing_contracts_on_to_are_shown_and_keep_the_verdict():
    r = report(contracts={"ok": True, "verdict": "PASS", "total": 52, "violated": 0, "skipped": 0, "failed": [],
                          "events": 200, "seconds": 300.0, "report": "r/contracts.md"},
               topics_copy={"messages": 600}, seconds={"topics": 2.0, "write_downtime": 20.0, "total": 30.0})
    assert r["verdict"]["ok"]
    assert "contracts on TO (`topo gate --attach`, 200 events per fault contract): PASS, 52 passed" in m.render(r)
    assert m.summary(r)["contracts_on_to"]["verdict"] == "PASS"


def test_write_report_writes_json_and_text(tmp_path):
    js, txt = m.write_report(report(), tmp_path)
    assert json.loads(js.read_text())["verdict"]["ok"] is True
    assert "PASS" in txt.read_text()
    assert js.name == "migrate-deml-rw-deml-aws.json"


# ---- what the switch reads from the topology -------------------------------------------------------------------------

def test_roles_and_write_acls_of_the_reference_topology():
    from harness.testing import load_topology

    t = load_topology(ROOT / "topology.yaml")
    roles = m.Roles.of(t)
    assert roles.producers == ["daemon"] and roles.consumers == ["telemetry-worker", "workers"]
    assert roles.front == ["frontend", "backend"]
    acls = m.write_acls(t)
    assert {(b.name, b.principal, b.operation.name) for b in acls} == {
        ("frontend-events", "User:deml-app", "WRITE"), ("internal-tasks", "User:deml-app", "WRITE")}


def test_running_offset_is_read_from_a_published_declared_port():
    from harness.testing import load_topology
    from harness.testing.stack import running_offset

    t = load_topology(ROOT / "topology.yaml")
    rows = [{"Service": "frontend", "Publishers": [{"TargetPort": 80, "PublishedPort": 0}]},
            {"Service": "postgres", "Publishers": [{"TargetPort": 5432, "PublishedPort": 31432}]}]
    stack = SimpleNamespace(topology=t, project="p", compose=SimpleNamespace(ps=lambda: rows))
    assert running_offset(stack) == 26000
    stack.compose = SimpleNamespace(ps=lambda: [])
    with pytest.raises(m.TopoError, match="no running container publishes"):
        running_offset(stack)


def test_summary_numbers():
    r = report(topics_copy={"messages": 600}, seconds={"topics": 2.0, "postgres": 1.0, "clickhouse": 1.0,
                                                        "write_downtime": 20.0, "total": 30.0})
    s = m.summary(r, m.Load(ingested=400, actions=100))
    assert s["messages_per_s"] == 300.0 and s["write_downtime_s"] == 20.0 and s["events_per_s_moved"] == 25.0


# ---- the command line (its checks that need no Docker) ----------------------------------------------------------

def test_cli_refuses_a_target_it_cannot_run(run_cli):
    code, _, err = run_cli("migrate", "railway-emulation", "aws", "-f", str(ROOT / "topology.yaml"))
    assert code == 2 and "'aws' is not a runnable target" in err and "aws-emulation" in err


def test_cli_refuses_the_same_project_on_both_sides(run_cli):
    code, _, err = run_cli("migrate", "compose", "aws-emulation", "--from-project", "deml-x", "--to-project", "deml-x",
                           "-f", str(ROOT / "topology.yaml"))
    assert code == 2 and "same project 'deml-x'" in err and "--to-project" in err


def test_gate_attach_needs_a_runnable_host(run_cli):
    code, _out, err = run_cli("gate", "--target", "endpoints:nowhere.json", "--attach", "deml-x")
    assert code == 2 and "--attach names a stack of a runnable host" in err


def test_attach_refuses_an_unknown_target():
    from harness.testing import attach

    with pytest.raises(m.TopoError, match="unknown target 'heroku'"):
        attach(ROOT / "topology.yaml", target="heroku", project="deml-x")


# ---- the gate on TO and attaching to a running stack (fakes instead of Docker) -----------------------------------


def fake_gate(monkeypatch, folder_data: dict | None, code: int = 0):
    """subprocess.run of `topo gate` replaced: writes contracts.json (or nothing) into --report-dir, exits `code`."""
    def run(cmd, stdout=None, stderr=None, timeout=None):
        folder = Path(cmd[cmd.index("--report-dir") + 1])
        assert "--allow-partial" in cmd and "--attach" in cmd
        if stdout is not None:
            stdout.write(b"gate output\n" if "b" in getattr(stdout, "mode", "") else "gate output\n")
        if folder_data is not None:
            (folder / "contracts.json").write_text(json.dumps(folder_data))
        return SimpleNamespace(returncode=code)
    monkeypatch.setattr(m.subprocess, "run", run)


def contracts_json(violated=0, skipped=0, total=52):
    rows = [{"area": "outbox", "name": f"c{i}", "verdict": "FAIL" if i < violated else
             ("SKIP" if i < violated + skipped else "PASS")} for i in range(total)]
    return {"total": total, "violated": violated, "skipped": skipped, "contracts": rows}


TO = SimpleNamespace(project="deml-mig-to-x", target="aws-emulation")


@pytest.mark.parametrize("data, code, word, ok", [
    (contracts_json(), 0, "PASS", True),
    (contracts_json(skipped=3), 0, "PARTIAL", False),  # --allow-partial: exit 0, still not a pass
    (contracts_json(violated=1), 1, "FAILED", False),
    (None, 1, "FAILED (wrote no report (exit 1))", False),
])
def test_the_gate_on_to_is_judged_by_its_report(monkeypatch, tmp_path, data, code, word, ok):
    fake_gate(monkeypatch, data, code)
    c = m.run_contracts(ROOT / "topology.yaml", TO, 200, tmp_path, lambda _line: None)
    assert (c["verdict"], c["ok"]) == (word, ok)
    r = report(contracts=c)
    assert r["verdict"]["ok"] is ok


def test_an_earlier_gates_report_is_never_read(monkeypatch, tmp_path):
    folder = tmp_path / f"migrate-contracts-{TO.project}"
    folder.mkdir()
    (folder / "contracts.json").write_text(json.dumps(contracts_json()))  # a passing report of an earlier run
    fake_gate(monkeypatch, None, 1)  # this run stops before writing one
    assert m.run_contracts(ROOT / "topology.yaml", TO, 200, tmp_path, lambda _line: None)["ok"] is False


def test_a_report_without_contracts_says_so():
    r = report(contracts=dict(m.NOT_RUN), topics_copy={"messages": 1}, seconds={"topics": 1.0, "write_downtime": 2.0})
    assert r["verdict"]["ok"] and "contracts on TO: not run (--no-contracts)" in m.render(r)
    assert m.summary(r)["contracts_on_to"] == {"verdict": "not run"}


def test_attach_refuses_a_stack_of_another_host(monkeypatch):
    """A project running railway-emulation's file is not attached as aws-emulation (its ports and files differ)."""
    from harness.testing import stack as st

    monkeypatch.setattr(st, "running_compose_files", lambda project: [str(ROOT / "compose" / "railway-emulation.yml")])
    with pytest.raises(m.TopoError, match="does not run aws-emulation's compose file.*pass --target railway-emulation"):
        st.attach(ROOT / "topology.yaml", target="aws-emulation", project="deml-x")
    monkeypatch.setattr(st, "running_compose_files", lambda project: [])
    with pytest.raises(m.TopoError, match="no running stack 'deml-x'"):
        st.attach(ROOT / "topology.yaml", target="aws-emulation", project="deml-x")


def test_gate_attach_refuses_an_explicit_profile(run_cli):
    code, _out, err = run_cli("gate", "--target", "aws-emulation", "--attach", "deml-x", "--profile", "gate")
    assert code == 2 and "--profile cannot change it" in err
