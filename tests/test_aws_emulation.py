"""The aws-emulation rendering reproduces the AWS facts (DESIGN.md, "AWS-shaped emulation semantics")."""
from __future__ import annotations

import dataclasses

import pytest
import yaml

from harness.loader import load
from harness.targets.aws_emulation import AwsEmulationTarget, cgroup_parent
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def reference():
    topology, _ = load(ROOT / "topology.yaml")
    doc = yaml.safe_load(AwsEmulationTarget().render(topology).files["compose/aws-emulation.yml"])
    return topology, doc


def test_lightsail_containers_share_one_pod(reference):
    topology, doc = reference
    pod = topology.aws.lightsail.service
    for s in topology.group("lightsail"):
        spec = doc["services"][s.name]
        assert spec["network_mode"] == f"service:{pod}"
        assert spec["cgroup_parent"] == cgroup_parent("deml-aws")
        assert "ports" not in spec and "networks" not in spec
    # inside the pod, the app reaches the cache and the backend on localhost
    env = doc["services"]["frontend"]["environment"]
    assert env["DRAGONFLY_HOST"] == "localhost" and env["BACKEND_URL"] == "http://localhost:8000"


def test_exactly_one_public_endpoint(reference):
    topology, doc = reference
    pod = doc["services"][topology.aws.lightsail.service]
    assert pod["ports"] == ["127.0.0.1:4000:4000"] and pod["labels"]["org.topo.access"] == "public"
    for name, spec in doc["services"].items():
        if name != topology.aws.lightsail.service and spec.get("ports"):
            assert spec["labels"]["org.topo.access"] == "operator", name  # bastion-style access to the data plane


def test_fargate_limits_and_service_connect_names(reference):
    _, doc = reference
    redpanda = doc["services"]["redpanda"]
    assert (redpanda["cpus"], redpanda["mem_limit"]) == ("0.5", "2048m")
    assert redpanda["stop_grace_period"] == "120s"
    assert redpanda["networks"] == {"vpc": {"aliases": ["redpanda.deml.internal"]}}
    assert doc["services"]["postgres"]["networks"]["vpc"]["aliases"] == [
        "deml-postgres.c9akciq32.us-east-1.rds.amazonaws.com"]


def test_secrets_are_injected_at_start_not_written(reference):
    topology, doc = reference
    text = yaml.safe_dump(doc)
    assert "secrets:" not in text.split("services:")[0]
    for s in topology.services:
        env = doc["services"][s.name].get("environment", {})
        for var, _ in s.secrets:
            assert env[var].startswith("${TOPO_SECRET_")


def test_without_vpc_peering_the_pod_cannot_reach_the_vpc():
    topology, _ = load(ROOT / "tests" / "golden" / "minimal" / "topology.yaml")
    ls = dataclasses.replace(topology.aws.lightsail, vpc_peering=False)
    topology = dataclasses.replace(topology, aws=dataclasses.replace(topology.aws, lightsail=ls))
    doc = yaml.safe_load(AwsEmulationTarget().render(topology).files["compose/aws-emulation.yml"])
    assert doc["services"]["shop-apps"]["networks"] == ["lightsail"]
