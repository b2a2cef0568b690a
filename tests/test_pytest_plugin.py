"""The `topo` pytest plugin as a user meets it (pytester: a pytest session inside the test): settings resolved option
→ environment → ini, each overridable as a fixture in a conftest.py, shown in the report header, and bad settings
reported as the user's mistake (naming what exists) before any container starts."""
from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

TOPOLOGY = Path(__file__).resolve().parent.parent / "topology.yaml"

SHOW = """
def test_show(topo_file, topo_target, topo_services, topo_profile):
    print(f"SEEN file={topo_file.name} target={topo_target} services={','.join(topo_services)} profile={topo_profile}")
"""


def seen(result) -> str:
    return next(line[line.index("SEEN "):] for line in result.outlines if "SEEN " in line)


@pytest.fixture
def project(pytester, monkeypatch):
    for name in ("TOPO_FILE", "TOPO_TARGET", "TOPO_SERVICES", "TOPO_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    (pytester.path / "topology.yaml").write_text(TOPOLOGY.read_text())
    (pytester.path / "app").symlink_to(TOPOLOGY.parent / "app")  # the SQL files the topology bootstraps
    pytester.makepyfile(test_show=SHOW)
    return pytester


def test_defaults_come_from_the_ini_defaults(project):
    result = project.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert seen(result) == "SEEN file=topology.yaml target=compose services= profile="
    result.stdout.fnmatch_lines(["topo: file topology.yaml (from ini topo_file); target compose (from ini topo_target)*"])


def test_ini_then_environment_then_option(project, monkeypatch):
    project.makeini("[pytest]\ntopo_target = railway-emulation\ntopo_services = backend\ntopo_profile = gate\n")
    result = project.runpytest("-s", "-p", "no:cacheprovider")
    assert seen(result) == "SEEN file=topology.yaml target=railway-emulation services=backend profile=gate"

    monkeypatch.setenv("TOPO_TARGET", "aws-emulation")
    monkeypatch.setenv("TOPO_SERVICES", "redpanda, firebase")
    result = project.runpytest("-s", "-p", "no:cacheprovider")
    assert seen(result) == "SEEN file=topology.yaml target=aws-emulation services=redpanda,firebase profile=gate"
    result.stdout.fnmatch_lines(["*target aws-emulation (from environment TOPO_TARGET)*"])

    result = project.runpytest("-s", "-p", "no:cacheprovider", "--topo-target", "compose", "--topo-services",
                               "telemetry-worker", "--topo-profile", "")
    assert seen(result) == "SEEN file=topology.yaml target=compose services=telemetry-worker profile=gate"
    result.stdout.fnmatch_lines(["*target compose (from option --topo-target)*"])


def test_a_conftest_overrides_a_setting_fixture(project):
    project.makeconftest("""
import pytest

@pytest.fixture(scope="session")
def topo_services():
    return ["telemetry-worker"]
""")
    result = project.runpytest("-s", "-p", "no:cacheprovider", "--topo-services", "backend")
    assert seen(result) == "SEEN file=topology.yaml target=compose services=telemetry-worker profile="


@pytest.mark.parametrize("option, value, expected", [
    ("--topo-services", "telemetry-worker,nope", "no service 'nope'; the topology declares frontend, backend*"),
    ("--topo-target", "heroku", "unknown target 'heroku': use one of compose, aws-emulation, railway-emulation*"),
    ("--topo-profile", "fast", "*no profile 'fast' (declared: gate)*"),
])
def test_a_bad_setting_is_named_before_any_container_starts(project, option, value, expected):
    project.makepyfile(test_env="def test_env(topo_environment):\n    pass\n")
    result = project.runpytest("-p", "no:cacheprovider", option, value, "test_env.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"topo: *{expected}"])
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stdout.no_fnmatch_line("*docker compose*up*")


def test_a_bad_topology_file_names_its_line(project):
    lines = TOPOLOGY.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == "role: app")
    lines[at] = lines[at].replace("role:", "rol:")  # a typo in the first app service
    (project.path / "broken.yaml").write_text("\n".join(lines) + "\n")
    project.makepyfile(test_env="def test_env(topo_environment):\n    pass\n")
    result = project.runpytest("-p", "no:cacheprovider", "--topo-file", "broken.yaml", "test_env.py")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"topo: *broken.yaml:{at + 1}:*rol*"])
    result.stdout.no_fnmatch_line("*Traceback*")
