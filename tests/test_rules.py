"""Table-driven unit tests of the model helpers and the AWS rule tables."""
from __future__ import annotations

import pytest

from harness.aws import limits
from harness.loader import load_text
from harness.model import is_host_valued, parse_size, references, size_hint
from harness.targets.aws import botocore_errors, host_for
from tests.malformed.cases import BASE


@pytest.mark.parametrize("text, expected", [
    ("512Mi", 512 << 20), ("2Gi", 2 << 30), ("1Ki", 1024), ("1Ti", 1 << 40), ("0Mi", 0),
    ("2G", None), ("512MB", None), ("1.5Gi", None), ("", None), ("Gi", None), ("512", None),
])
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text, hint", [
    ("2G", "write 2Gi"), ("512MB", "write 512Mi"), ("1k", "write 1Ki"), ("ten", "write a binary size such as 512Mi or 2Gi"),
])
def test_size_hint(text, hint):
    assert size_hint(text) == hint


@pytest.mark.parametrize("value, refs, host_valued", [
    ("${a.host}:${a.port.kafka}", [("${a.host}", "a", ""), ("${a.port.kafka}", "a", "kafka")], True),
    ("http://x:${b.port.http}", [("${b.port.http}", "b", "http")], False),
    ("plain", [], False),
    ("${a.hostname}", [("${a.hostname}", "", "")], False),
])
def test_references(value, refs, host_valued):
    assert references(value) == refs
    assert is_host_valued(value) is host_valued


@pytest.mark.parametrize("vcpu, mib, expected", [
    (0.25, 512, (256, 512)), (0.25, 2048, (256, 2048)), (0.25, 3000, (512, 3072)), (0.5, 2048, (512, 2048)),
    (0.3, 1500, (512, 2048)), (1, 1024, (1024, 2048)), (4, 30720, (4096, 30720)), (16, 122880, (16384, 122880)),
    (16, 200000, None), (32, 1024, None),
])
def test_snap_fargate(vcpu, mib, expected):
    assert limits.snap_fargate(vcpu, mib) == expected


@pytest.mark.parametrize("cpu, mem, ok", [
    (256, 512, True), (256, 4096, False), (512, 4096, True), (1024, 1024, False), (4096, 30720, True),
    (8192, 20480, True), (8192, 18432, False), (300, 1024, False),
])
def test_fargate_pairs(cpu, mem, ok):
    assert limits.fargate_pair_valid(cpu, mem) is ok


@pytest.mark.parametrize("name, ok", [
    ("a", True), ("ab", True), ("web", True), ("web-1", True), ("-web", False), ("web-", False), ("Web", False),
    ("a" * 53, True), ("a" * 54, False), ("we_b", False),
])
def test_lightsail_container_name(name, ok):
    pattern, _ = limits.LIGHTSAIL_RULES["container_name"]
    assert bool(pattern.match(name)) is ok


def test_every_rule_names_its_source():
    for rule, (_value, source) in limits.LIGHTSAIL_RULES.items():
        assert source.startswith(("botocore data", "AWS docs", "AWS API")), rule


def test_lightsail_powers_match_botocore_enum():
    import botocore.session

    model = botocore.session.get_session().get_service_model("lightsail")
    assert list(limits.LIGHTSAIL_POWERS) == model.shape_for("ContainerServicePowerName").enum
    scale = model.shape_for("ContainerServiceScale").metadata
    assert (scale["min"], scale["max"]) == (limits.LIGHTSAIL_RULES["scale_min"][0], limits.LIGHTSAIL_RULES["scale_max"][0])


def test_botocore_alone_lets_bad_lightsail_inputs_through():
    """Why the rule table exists: botocore accepts scale 25, 11 containers and an unknown power."""
    assert botocore_errors("lightsail", "CreateContainerService",
                           {"serviceName": "x", "power": "gigantic", "scale": 25}) == []
    containers = {f"c{i}": {"image": "x"} for i in range(11)}
    assert botocore_errors("lightsail", "CreateContainerServiceDeployment",
                           {"serviceName": "x", "containers": containers}) == []
    # ...while it does catch a type error
    assert botocore_errors("lightsail", "CreateContainerServiceDeployment", {"serviceName": "x", "containers": []})


def test_hosts_per_placement():
    t, _ = load_text(BASE)
    web, broker, db = t.service("web"), t.service("broker"), t.service("db")
    assert host_for(t, web, broker) == "broker.shop.internal"
    assert host_for(t, web, db) == "shop-postgres.c0ffee0000.us-east-1.rds.amazonaws.com"
    assert host_for(t, web, web) == "localhost"  # one Lightsail pod shares a network namespace
