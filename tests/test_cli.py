"""The CLI end to end (in-process): exit codes, --json, and that each command says something useful."""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest

from harness import parity
from harness.loader import load
from harness.render import render
from tests.conftest import MINIMAL, ROOT


@pytest.fixture
def project(tmp_path):
    shutil.copy(ROOT / "topology.yaml", tmp_path / "topology.yaml")
    shutil.copytree(ROOT / "app" / "sql", tmp_path / "app" / "sql")
    return tmp_path


def test_validate_json(project, run_cli):
    code, out, _ = run_cli("validate", "--json", cwd=project)
    data = json.loads(out)
    assert code == 0 and data["ok"] is True
    assert data["services"][:2] == ["frontend", "backend"] and len(data["services"]) == 10


def test_validate_strict_fails_on_warnings(tmp_path, run_cli):
    path = ROOT / "tests" / "golden" / "spot-snapped" / "topology.yaml"
    code, _, err = run_cli("validate", "--strict", "-f", str(path))
    assert code == 2
    assert "service-managed EBS volume is replaced with its task" in err


def test_schema_is_the_shipped_json(run_cli):
    code, out, _ = run_cli("schema")
    assert code == 0
    assert json.loads(out)["title"] == "topo topology.yaml"


def test_cost_within_seed_range(project, run_cli):
    code, out, _ = run_cli("cost", "--json", cwd=project)
    data = json.loads(out)
    assert code == 0
    assert data["within_seed_range"] and 35 <= data["total_usd"] <= 55
    assert abs(sum(line["monthly_usd"] for line in data["lines"]) - data["total_usd"]) < 0.05
    assert all(line["source"] for line in data["lines"])
    code, out, _ = run_cli("cost", cwd=project)
    assert "within that range" in out and "prices of 2026-11-01" in out


def test_cost_over_budget_exits_1(project, run_cli):
    path = project / "topology.yaml"
    path.write_text(path.read_text().replace("monthly_usd: 55", "monthly_usd: 20"))
    code, out, _ = run_cli("cost", cwd=project)
    assert code == 1 and "OVER budget" in out


def test_graph_mermaid_and_svg(project, run_cli):
    code, out, _ = run_cli("graph", cwd=project)
    assert code == 0 and out.startswith("flowchart LR")
    assert 'subgraph lightsail["Lightsail deml-apps (micro × 1; one pod: localhost)"]' in out
    assert 'backend -->|"REDPANDA_BROKERS"| redpanda' in out
    code, out, _ = run_cli("graph", "--format", "svg", "-o", str(project / "t.svg"), cwd=project)
    assert code == 0
    root = ET.parse(project / "t.svg").getroot()
    assert root.tag.endswith("svg")
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "redpanda" in texts and "Amazon RDS" in texts


def test_parity_static_reference_passes(project, run_cli):
    code, out, _ = run_cli("parity", "--static", "compose", "aws", "--json", cwd=project)
    data = json.loads(out)
    assert code == 0 and data["different"] == 0
    rows = {(r["service"], r["aspect"]): r for r in data["rows"]}
    assert rows[("backend", "env REDPANDA_BROKERS")]["verdict"] == "explained"
    assert rows[("backend", "env REDPANDA_BROKERS")]["why"] == "hostname"
    assert rows[("backend", "image")]["verdict"] == "same"


def test_parity_flags_an_unexplained_difference():
    topology, _ = load(MINIMAL)
    compose, aws = render(topology, ["compose", "aws"])
    aws.data["lightsail"]["containers"]["web"]["image"] = "shop/app:2"
    aws.data["lightsail"]["containers"]["web"]["environment"]["EXTRA"] = "1"
    rows = [r for r in parity.compare(topology, compose, aws) if r.verdict == "DIFFERENT"]
    assert [(r.service, r.aspect) for r in rows] == [("web", "image"), ("web", "env names")]


def test_behavioural_parity_needs_runnable_targets(project, run_cli):
    code, _, err = run_cli("parity", "compose", "aws", cwd=project)
    assert code == 2 and "'aws' is not runnable (use --static to compare renderings)" in err


def test_unknown_target(project, run_cli):
    code, _, err = run_cli("render", "kubernetes", cwd=project)
    assert code == 2 and "unknown target 'kubernetes'; targets: compose, aws" in err


def test_help_teaches(run_cli):
    code, out, _ = run_cli("--help")
    assert code == 0
    for command in ("validate", "render", "cost", "graph", "parity", "schema"):
        assert command in out


@pytest.mark.parametrize("args, message", [
    (("render", "--bogus"), "No such option: --bogus"),
    (("validate", "extra"), "Got unexpected extra argument"),
])
def test_usage_errors_are_not_tracebacks(args, message, run_cli):
    code, out, err = run_cli(*args)
    assert code == 2
    assert message in err and "Traceback" not in err + out


def test_validate_json_prints_the_problems_of_an_invalid_file(tmp_path, run_cli):
    path = tmp_path / "topology.yaml"
    path.write_text("version: 1\nproject: x\n")
    code, out, _err = run_cli("validate", "--json", "-f", str(path))
    data = json.loads(out)
    assert code == 2 and data["ok"] is False
    assert {p["path"] for p in data["problems"]} == {"(top level)"} and len(data["problems"]) == 3


def test_render_output_that_is_a_file_is_a_usage_error(tmp_path, run_cli):
    target = tmp_path / "a-file"
    target.write_text("x")
    code, _out, err = run_cli("render", "-o", str(target), "-f", str(ROOT / "topology.yaml"))
    assert code == 2 and "not a directory" in err and target.read_text() == "x"


def test_validate_strict_refuses_what_render_strict_refuses(run_cli):
    """One notion of strict: the reference topology's Lightsail secret placeholders are a render warning."""
    code_v, _o, err_v = run_cli("validate", "--strict", "-f", str(ROOT / "topology.yaml"))
    code_r, _o, err_r = run_cli("render", "--strict", "--check", "-f", str(ROOT / "topology.yaml"))
    assert code_v == code_r == 2
    assert "Lightsail passes secrets only as plain environment variables" in err_v
    assert "Lightsail passes secrets only as plain environment variables" in err_r


def test_a_wrong_value_inside_placement_aws_is_named_not_dumped(tmp_path, run_cli):
    """A bad `capacity` inside the placement.aws mapping is reported at that key with its own hint, not as the whole
    mapping compared against the word `lightsail`."""
    text = (ROOT / "topology.yaml").read_text()
    old = "capacity: spot, stop_timeout_seconds: 120, volume_lifecycle: retained}"
    assert text.count(old) == 2
    path = tmp_path / "topology.yaml"
    path.write_text(text.replace(old, old.replace("spot", "sppot"), 1))
    code, _out, err = run_cli("validate", "-f", str(path))
    assert code == 2
    assert "services.redpanda.placement.aws.capacity: 'sppot' is not allowed; did you mean 'spot'?" in err
    assert "{'kind'" not in err
