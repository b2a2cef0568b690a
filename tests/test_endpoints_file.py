"""The endpoints file (`topo gate --target endpoints:FILE`): its schema, loading with located errors, secrets by
reference, the file `topo up` writes for the local stack, and the AWS example."""
from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from harness import endpoints as ep
from harness.errors import TopoError
from harness.pytest_plugin import Endpoints
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "endpoints-aws" / "endpoints.json"
SECRET_VARS = ("TOPO_KAFKA_APP_PASSWORD", "TOPO_KAFKA_ADMIN_PASSWORD", "TOPO_CLICKHOUSE_PASSWORD",
               "TOPO_POSTGRES_PASSWORD")


def valid() -> dict:
    """A valid document: every field's own example from the schema."""
    return {name: spec.example for name, spec in ep.FIELDS.items()}


def write(tmp_path: Path, doc, text: str | None = None) -> Path:
    path = tmp_path / "endpoints.json"
    path.write_text(text if text is not None else json.dumps(doc, indent=2))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ep.EndpointsError) as info:
        ep.load(path)
    return [str(p) for p in info.value.problems]


@pytest.fixture
def secrets_env(monkeypatch):
    for i, var in enumerate(SECRET_VARS):
        monkeypatch.setenv(var, f"pw-{i}")


# ---- the schema and the dataclass cannot drift ----------------------------------------------------------------------

def test_the_shipped_schema_is_generated_from_the_dataclass():
    """harness/schema/endpoints.schema.json is what `python -m harness.endpoints` writes today."""
    committed = json.loads(ep.SCHEMA_FILE.read_text())
    assert committed == ep.build_schema(), "regenerate it: python -m harness.endpoints"
    jsonschema.Draft202012Validator.check_schema(committed)
    props = committed["properties"]
    assert set(committed["required"]) == {f.name for f in dataclasses.fields(Endpoints)}
    assert all(props[f.name]["description"] for f in dataclasses.fields(Endpoints))
    assert props["frontend_url"]["format"] == "uri" and props["firestore_host"]["format"] == "host:port"
    assert "env" in props["postgres_password"]["properties"]  # the secret reference is documented in the schema


def test_a_field_added_to_the_dataclass_alone_fails(monkeypatch):
    """A field in Endpoints without a schema entry (or the reverse) stops the generator: they cannot drift."""
    import harness.pytest_plugin as plugin

    grown = dataclasses.make_dataclass("Endpoints", [(f.name, f.type) for f in dataclasses.fields(Endpoints)]
                                       + [("grafana_url", "str")], frozen=True)
    monkeypatch.setattr(plugin, "Endpoints", grown)
    with pytest.raises(TopoError, match="no schema entry for grafana_url"):
        ep.build_schema()
    monkeypatch.setattr(plugin, "Endpoints", Endpoints)
    monkeypatch.setitem(ep.FIELDS, "grafana_url", ep.Field("url", "Grafana", "http://x"))
    with pytest.raises(TopoError, match="no Endpoints field grafana_url"):
        ep.build_schema()


def test_a_type_changed_in_the_dataclass_alone_fails(monkeypatch):
    import harness.pytest_plugin as plugin

    changed = dataclasses.make_dataclass("Endpoints", [(f.name, "str" if f.name == "redis_port" else f.type)
                                                       for f in dataclasses.fields(Endpoints)], frozen=True)
    monkeypatch.setattr(plugin, "Endpoints", changed)
    with pytest.raises(TopoError, match="redis_port is str but FIELDS says port"):
        ep.build_schema()


def test_the_kafka_mechanisms_are_the_topologys():
    from harness.loader.schema import schema as topology_schema

    assert ep.schema()["properties"]["kafka_mechanism"]["enum"] == \
        topology_schema()["properties"]["kafka"]["properties"]["mechanism"]["enum"]


# ---- loading ------------------------------------------------------------------------------------------------------

def test_a_valid_file_loads_with_secrets_from_env_and_file(tmp_path, monkeypatch):
    doc = valid()
    doc["_note"] = "notes are keys starting with _"
    doc["clickhouse_password"] = {"file": "secrets/ch"}
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "ch").write_text("from-a-file\n")
    for var in SECRET_VARS:
        monkeypatch.setenv(var, f"value-of-{var}")
    e = ep.load(write(tmp_path, doc))
    assert e.clickhouse_password == "from-a-file"
    assert e.postgres_password == "value-of-TOPO_POSTGRES_PASSWORD"
    assert e.frontend_url == doc["frontend_url"] and e.redis_port == 6379


@pytest.mark.parametrize("edit, expected", [
    (lambda d: d.pop("backend_url"), ":1:1: (top level): missing key 'backend_url'; add \"backend_url\": "),
    (lambda d: d.update(redis_port="6379"), ": redis_port: expected a whole number, got a string (\"6379\"); e.g. 6379"),
    (lambda d: d.update(frontend_url="deml-apps.example.com"),
     ": frontend_url: \"deml-apps.example.com\" is not a uri; e.g. \"https://"),
    (lambda d: d.update(firestore_host="http://127.0.0.1:8080"),
     ": firestore_host: \"http://127.0.0.1:8080\" is not a host:port; e.g. \"127.0.0.1:8080\""),
    (lambda d: d.update(kafka_bootstrap="127.0.0.1"), ": kafka_bootstrap: \"127.0.0.1\" is not a host:port[,host:port]"),
    (lambda d: d.update(frontend_ulr=d["frontend_url"]), ": frontend_ulr: unknown key 'frontend_ulr'; did you mean 'frontend_url'?"),
    (lambda d: d.update(kafka_mechanism="SCRAM-SHA-1"), ": kafka_mechanism: \"SCRAM-SHA-1\" is not allowed; did you mean 'SCRAM-SHA-"),
    (lambda d: d.update(postgres_dsn="postgresql://deml:hunter2@127.0.0.1:5432/deml"),
     ": postgres_dsn: \"postgresql://deml:hunter2@127.0.0.1:5432/deml\" is not a libpq connection string or postgresql:// URI"),
    (lambda d: d.update(postgres_dsn="host=127.0.0.1 password=hunter2"),
     ": postgres_dsn: the connection string holds a password; remove it from postgres_dsn"),
    (lambda d: d.update(postgres_password={"env": "A", "file": "b"}),
     ": postgres_password: a secret reference needs exactly one of env, file"),
    (lambda d: d.update(postgres_password={"vault": "x"}), ": postgres_password.vault: unknown key 'vault'"),
    (lambda d: d.update(postgres_password={"env": "NOT A NAME"}), ": postgres_password.env: \"NOT A NAME\" is not a variable name"),
    (lambda d: d.update(port_offset=-1), ": port_offset: -1 is out of range"),
])
def test_a_malformed_file_is_refused_naming_file_line_column_key_and_hint(tmp_path, secrets_env, edit, expected):
    doc = valid()
    edit(doc)
    path = write(tmp_path, doc)
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith(str(path) + ":") and expected in found[0], found[0]


def test_the_line_and_column_are_those_of_the_key(tmp_path, secrets_env):
    doc = valid()
    doc["redis_port"] = "6379"
    path = write(tmp_path, doc)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if '"redis_port"' in text)
    assert problems(path)[0].startswith(f"{path}:{line}:3: redis_port:")


def test_an_unset_env_var_is_a_located_error(tmp_path, monkeypatch):
    for var in SECRET_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TOPO_KAFKA_APP_PASSWORD", "")
    found = problems(write(tmp_path, valid()))
    assert len(found) == 4
    assert any("kafka_app_password.env: environment variable TOPO_KAFKA_APP_PASSWORD is empty" in p for p in found)
    assert any("postgres_password.env: environment variable TOPO_POSTGRES_PASSWORD is not set; export "
               "TOPO_POSTGRES_PASSWORD before running topo" in p for p in found)


def test_a_missing_secret_file_is_a_located_error(tmp_path, secrets_env):
    doc = valid()
    doc["clickhouse_password"] = {"file": "secrets/absent"}
    found = problems(write(tmp_path, doc))
    assert len(found) == 1 and "clickhouse_password.file: cannot read" in found[0] and "relative to the endpoints file" in found[0]


@pytest.mark.parametrize("text, expected", [
    ('{\n  "project": "x",\n  "port_offset": 0,,\n}', ":3:20: not JSON: Expecting property name enclosed in double quotes"),
    ("project: x\n", ":1:1: not JSON: Expecting value"),
    ("[1, 2]", ":1:1: (top level): the file must be a JSON object"),
    ('{"project": "a", "project": "b"}', ": project: duplicate key 'project'"),
])
def test_not_json_is_refused_with_its_position(tmp_path, text, expected):
    path = write(tmp_path, None, text)
    found = problems(path)
    assert any(expected in p for p in found), found


def test_a_missing_file_says_how_to_get_one(tmp_path):
    found = problems(tmp_path / "nope.json")
    assert "cannot read the endpoints file" in found[0] and "topo up" in found[0]


def test_the_gate_refuses_a_malformed_file_before_anything_runs(tmp_path):
    """`topo gate --target endpoints:FILE` checks the file first: exit 2, the located problem, no traceback."""
    doc = valid()
    doc.pop("frontend_url")
    path = write(tmp_path, doc)
    run = subprocess.run([sys.executable, "-m", "harness.cli", "gate", "-f", str(ROOT / "topology.yaml"),
                          "--target", f"endpoints:{path}", "--report-dir", str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=120, cwd=ROOT,
                         env={k: v for k, v in os.environ.items() if k not in SECRET_VARS})
    assert run.returncode == 2, run.stdout + run.stderr
    assert "missing key 'frontend_url'" in run.stderr and "Traceback" not in run.stderr
    assert "gate 1/4" not in run.stdout


# ---- the AWS example ----------------------------------------------------------------------------------------------

def test_the_aws_example_validates_and_keeps_its_secrets_out(secrets_env):
    data = json.loads(EXAMPLE.read_text())
    jsonschema.Draft202012Validator(ep.schema()).validate(data)
    secret_fields = [n for n, s in ep.FIELDS.items() if s.kind == "secret"]
    assert all(set(data[n]) == {"env"} for n in secret_fields)  # every password from the environment
    e = ep.load(EXAMPLE)
    assert e.frontend_url.startswith("https://") and e.frontend_url.endswith(".cs.amazonlightsail.com")
    assert e.kafka_bootstrap == "127.0.0.1:19092"  # the broker's advertised external listener (deploy/aws/ecs)
    assert "external://127.0.0.1:19092" in (ROOT / "deploy" / "aws" / "ecs" / "redpanda.json").read_text()


# ---- writing: the local stack's file ------------------------------------------------------------------------------

def test_the_local_stacks_file_validates_is_0600_and_holds_no_secret_value(tmp_path):
    """write_for_stack (what `topo up` / `topo status --json` call) on the reference topology, without Docker."""
    from harness.loader import load
    from harness.pytest_plugin import endpoints_of
    from harness.runtime.stack import Stack

    stack = Stack(load(ROOT / "topology.yaml")[0], tmp_path, "")
    path = ep.write_for_stack(stack)
    assert path == tmp_path / ".topo" / "endpoints.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    jsonschema.Draft202012Validator(ep.schema()).validate(json.loads(text))
    assert not [n for n, v in stack.secrets.items() if v and v in text]
    assert json.loads(text)["postgres_password"] == {"file": "secrets/postgres-password"}
    assert ep.load(path) == endpoints_of(stack)
    other = ep.write_for_stack(Stack(stack.topology, tmp_path, "deml-other"))
    assert other.name == "endpoints-deml-other.json"


def test_an_existing_world_readable_file_is_made_0600(tmp_path):
    path = tmp_path / "e.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    ep.write(path, valid())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_endpoints_file_is_git_ignored():
    run = subprocess.run(["git", "check-ignore", "-q", ".topo/endpoints.json"], cwd=ROOT)
    assert run.returncode == 0


def test_topo_schema_prints_either_schema():
    from typer.testing import CliRunner

    from harness.cli import app

    runner = CliRunner()
    assert json.loads(runner.invoke(app, ["schema"]).stdout)["title"] == "topo topology.yaml"
    assert json.loads(runner.invoke(app, ["schema", "topology"]).stdout)["title"] == "topo topology.yaml"
    assert json.loads(runner.invoke(app, ["schema", "endpoints"]).stdout) == ep.schema()
    bad = runner.invoke(app, ["schema", "endpoint"])
    assert bad.exit_code == 2
