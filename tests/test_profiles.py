"""Profiles (topology.yaml `profiles:`): declared variations applied to a stack, never a code path of their own."""
from __future__ import annotations

import pytest
import yaml

from harness.errors import TopoError, TopologyError
from harness.loader import load, load_text
from harness.model import with_profile
from harness.render import render
from tests.conftest import ROOT


def reference():
    return load(ROOT / "topology.yaml")[0]


def test_the_gate_profile_changes_only_what_it_declares():
    t = reference()
    g = with_profile(t, "gate")
    assert g.profile == "gate" and t.profile == ""
    assert dict(g.service("daemon").env)["CRON_INTERVAL_SECONDS"] == "2"
    assert "CRON_INTERVAL_SECONDS" not in dict(t.service("daemon").env)
    for before, after in zip(t.services, g.services):
        extra = set(dict(after.env)) - set(dict(before.env))
        assert extra <= {"CRON_INTERVAL_SECONDS"}, (after.name, extra)
        assert after.secrets == before.secrets and after.command == before.command and after.image == before.image
        assert after.healthcheck == before.healthcheck


def test_a_profile_reaches_the_rendered_stack_but_not_the_committed_renderings():
    text = _with_profiles("  gate:\n    env:\n      daemon: {CRON_INTERVAL_SECONDS: '2'}\n"
                          "    healthcheck_interval_seconds: 1\n")
    t = load_text(text, "topology.yaml")[0]
    plain = {p: c for r in render(t, ["aws-emulation"]) for p, c in r.files.items()}
    gated = {p: c for r in render(with_profile(t, "gate"), ["aws-emulation"]) for p, c in r.files.items()}
    spec = yaml.safe_load(gated["compose/aws-emulation.yml"])["services"]
    assert spec["daemon"]["environment"]["CRON_INTERVAL_SECONDS"] == "2"
    assert spec["backend"]["healthcheck"]["interval"] == "1s"
    assert yaml.safe_load(plain["compose/aws-emulation.yml"])["services"]["backend"]["healthcheck"]["interval"] == "5s"


def test_an_unknown_profile_is_a_clear_error():
    with pytest.raises(TopoError, match=r"no profile 'fast' \(declared: gate\)"):
        with_profile(reference(), "fast")


def _with_profiles(block: str) -> str:
    return (ROOT / "topology.yaml").read_text().split("\nprofiles:")[0] + "\nprofiles:\n" + block


def test_a_profile_naming_an_unknown_service_is_located():
    with pytest.raises(TopologyError) as info:
        load_text(_with_profiles("  gate:\n    env:\n      deamon: {CRON_INTERVAL_SECONDS: '2'}\n"), "topology.yaml")
    text = str(info.value)
    assert "profiles.gate.env.deamon" in text and "unknown service 'deamon'" in text and "daemon" in text


def test_a_profile_cannot_replace_a_secret():
    with pytest.raises(TopologyError, match=r"DATABASE_PASSWORD is a secret of backend"):
        load_text(_with_profiles("  gate:\n    env:\n      backend: {DATABASE_PASSWORD: plain}\n"), "topology.yaml")


def test_a_profile_outside_the_schema_is_refused():
    with pytest.raises(TopologyError, match=r"healthcheck_interval_seconds"):
        load_text(_with_profiles("  gate:\n    healthcheck_interval_seconds: 0\n"), "topology.yaml")


def test_a_profiled_stack_never_writes_the_committed_rendering(tmp_path):
    """`topo up --profile gate` renders into .topo/stacks/PROJECT/, not over compose/aws-emulation.yml."""
    from harness.runtime.stack import Stack

    t = reference()
    plain = Stack(t, ROOT, "deml-aws", target="aws-emulation")
    gated = Stack(with_profile(t, "gate"), ROOT, "deml-aws", target="aws-emulation")
    assert plain.compose_file == ROOT / "compose" / "aws-emulation.yml"
    assert gated.compose_file == ROOT / ".topo" / "stacks" / "deml-aws" / "aws-emulation.yml"
