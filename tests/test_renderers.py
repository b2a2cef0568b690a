"""Properties every rendering of the reference topology must have (beyond the golden files)."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from harness.loader import load
from harness.render import drift, render, write
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def reference():
    topology, _ = load(ROOT / "topology.yaml")
    return topology, {r.target: r for r in render(topology)}


def test_compose_is_hardened(reference):
    topology, r = reference
    doc = yaml.safe_load(r["compose"].files["compose/docker-compose.yml"])
    for s in topology.services:
        spec = doc["services"][s.name]
        assert spec["security_opt"] == ["no-new-privileges:true"]
        for port in spec.get("ports", []):
            assert port.startswith("127.0.0.1:"), (s.name, port)
        if s.role in ("app", "emulator"):
            assert spec["user"] == "10001:10001"
            assert spec["read_only"] is True
            assert spec["cap_drop"] == ["ALL"]
            assert all("uid=10001,gid=10001" in t for t in spec["tmpfs"])
        for dep, cond in spec.get("depends_on", {}).items():
            assert cond["condition"] == ("service_healthy" if doc["services"][dep].get("healthcheck") else "service_started")


def test_secrets_are_never_inlined(reference, tmp_path):
    topology, r = reference
    compose = r["compose"].files["compose/docker-compose.yml"]
    doc = yaml.safe_load(compose)
    for name, spec in doc["secrets"].items():
        assert spec == {"file": f"../.topo/secrets/{name}"}
    # every secret-carrying variable is a file path or a runtime interpolation, never a value
    for s in topology.services:
        env = doc["services"][s.name].get("environment", {})
        for var, _secret in s.secrets:
            if s.secrets_as == "file":
                assert env[f"{var}_FILE"].startswith("/run/secrets/") and var not in env
            else:
                assert env[var].startswith("${TOPO_SECRET_")
    lightsail = json.loads(r["aws"].files["deploy/aws/lightsail-deployment.json"])
    for name, c in lightsail["containers"].items():
        for var, _secret in topology.service(name).secrets:
            assert c["environment"][var].startswith("{{secret:")
    task = json.loads(r["aws"].files["deploy/aws/ecs/redpanda.json"])
    assert task["containerDefinitions"][0]["secrets"] == [
        {"name": "RP_BOOTSTRAP_USER", "valueFrom": "arn:aws:secretsmanager:us-east-1:000000000000:secret:deml/redpanda-bootstrap-user"}]
    rds = json.loads(r["aws"].files["deploy/aws/rds.json"])
    assert rds["ManageMasterUserPassword"] is True and "MasterUserPassword" not in rds


def test_aws_inputs_pass_botocore_and_rules(reference):
    _, r = reference
    assert not [n for n in r["aws"].notes if "botocore" in n.message]
    lightsail = json.loads(r["aws"].files["deploy/aws/lightsail-deployment.json"])
    assert len(lightsail["containers"]) <= 10
    assert lightsail["publicEndpoint"]["containerName"] == "frontend"
    # Lightsail containers reach each other on localhost, Fargate by Service Connect names, RDS by its endpoint
    env = lightsail["containers"]["backend"]["environment"]
    assert env["DRAGONFLY_HOST"] == "localhost"
    assert env["REDPANDA_BROKERS"] == "redpanda.deml.internal:9092"
    assert "rds.amazonaws.com:5432" in env["DATABASE_URL"]


def test_fargate_tasks_are_valid_sizes_with_ebs_at_launch(reference):
    from harness.aws.limits import fargate_pair_valid

    _, r = reference
    for name in ("redpanda", "clickhouse"):
        task = json.loads(r["aws"].files[f"deploy/aws/ecs/{name}.json"])
        assert fargate_pair_valid(int(task["cpu"]), int(task["memory"]))
        assert task["requiresCompatibilities"] == ["FARGATE"]
        assert task["volumes"][0]["configuredAtLaunch"] is True
        launch = json.loads(r["aws"].files[f"deploy/aws/ecs/{name}.launch.json"])
        assert launch["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
        # the reference keeps its volume across Spot interruptions: a standalone task with deleteOnTermination false
        ebs = launch["volumeConfigurations"][0]["managedEBSVolume"]
        assert ebs["terminationPolicy"] == {"deleteOnTermination": False}


def test_render_check_detects_drift(tmp_path, run_cli):
    shutil.copy(ROOT / "topology.yaml", tmp_path / "topology.yaml")
    shutil.copytree(ROOT / "app" / "sql", tmp_path / "app" / "sql")
    code, _, _ = run_cli("render", cwd=tmp_path)
    assert code == 0
    code, out, _ = run_cli("render", "--check", cwd=tmp_path)
    assert code == 0 and "renderings match" in out
    path = tmp_path / "compose" / "docker-compose.yml"
    path.write_text(path.read_text().replace("127.0.0.1:4000:4000", "0.0.0.0:4000:4000"))
    (tmp_path / "deploy" / "aws" / "rds.json").unlink()
    code, _, err = run_cli("render", "--check", cwd=tmp_path)
    assert code == 1
    assert "compose/docker-compose.yml: changed" in err and "+    - 127.0.0.1:4000:4000" in err
    assert "deploy/aws/rds.json: missing" in err


def test_committed_renderings_match_topology():
    topology, _ = load(ROOT / "topology.yaml")
    assert drift(render(topology), ROOT) == []


def test_write_is_idempotent(tmp_path):
    topology, _ = load(ROOT / "topology.yaml")
    renderings = render(topology)
    assert write(renderings, tmp_path)
    assert write(renderings, tmp_path) == []


def test_the_dollar_escape_reaches_the_container_as_one_dollar(tmp_path):
    """`$$` in an env value is a literal `$`: compose gets `$$` (its own escape), the ECS/Lightsail JSON gets `$`, and
    `$${svc.host}` stays the text `${svc.host}` instead of being substituted."""
    from harness.loader import load_text

    text = (ROOT / "topology.yaml").read_text().replace(
        "  MARKETING_URL: https://marketing.deml.example\n",
        "  MARKETING_URL: https://marketing.deml.example\n  PRICE_TEMPLATE: 'cost $$5 at $${backend.host}'\n")
    topology, _ = load_text(text)
    r = {x.target: x for x in render(topology)}
    compose = yaml.safe_load(r["compose"].files["compose/docker-compose.yml"])
    assert compose["services"]["backend"]["environment"]["PRICE_TEMPLATE"] == "cost $$5 at $${backend.host}"
    lightsail = json.loads(r["aws"].files["deploy/aws/lightsail-deployment.json"])
    env = lightsail["containers"]["backend"]["environment"]
    assert env["PRICE_TEMPLATE"] == "cost $5 at ${backend.host}"
