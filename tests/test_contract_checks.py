"""The contracts' checks on container facts fail on broken inputs (no Docker needed): a check that cannot fail
proves nothing."""
from __future__ import annotations

import copy

import pytest

from contracts.test_environment import check_contract_present, targets
from contracts.test_hardening import check_hardened, check_ports
from contracts.test_secrets import check_no_value

GOOD = {"Config": {"User": "10001:10001"},
        "HostConfig": {"ReadonlyRootfs": True, "CapDrop": ["ALL"], "CapAdd": None, "Privileged": False,
                       "SecurityOpt": ["no-new-privileges:true"],
                       "PortBindings": {"4000/tcp": [{"HostIp": "127.0.0.1", "HostPort": "4000"}]}}}


def broken(path: str, value):
    c = copy.deepcopy(GOOD)
    section, key = path.split(".")
    c[section][key] = value
    return c


def test_a_hardened_container_passes():
    check_hardened("web", GOOD)
    check_ports("web", GOOD, {4000})


@pytest.mark.parametrize("path, value, message", [
    ("Config.User", "", "runs as root"),
    ("Config.User", "0:0", "runs as root"),
    ("HostConfig.ReadonlyRootfs", False, "writable root filesystem"),
    ("HostConfig.CapDrop", [], "keeps capabilities"),
    ("HostConfig.CapAdd", ["NET_ADMIN"], "adds capabilities"),
    ("HostConfig.SecurityOpt", [], "may gain privileges"),
    ("HostConfig.Privileged", True, "is privileged"),
])
def test_each_missing_hardening_is_caught(path, value, message):
    with pytest.raises(AssertionError, match=message):
        check_hardened("web", broken(path, value))


def test_ports_on_all_interfaces_or_undeclared_are_caught():
    with pytest.raises(AssertionError, match="on 0.0.0.0"):
        check_ports("web", broken("HostConfig.PortBindings", {"4000/tcp": [{"HostIp": "", "HostPort": "4000"}]}), {4000})
    with pytest.raises(AssertionError, match="undeclared port 5000/tcp"):
        check_ports("web", broken("HostConfig.PortBindings", {"5000/tcp": [{"HostIp": "127.0.0.1"}]}), {4000})


def test_a_missing_contract_variable_is_named():
    env = {v: "x" for v in ("DATABASE_URL", "REDPANDA_BROKERS")}
    with pytest.raises(AssertionError, match="DATABASE_PASSWORD"):
        check_contract_present("backend", env)


def test_host_valued_variables_are_found():
    env = {"DATABASE_URL": "postgresql://deml@postgres:5432/deml", "REDPANDA_BROKERS": "redpanda:9092",
           "DRAGONFLY_HOST": "dragonfly", "FIREBASE_PROJECT": "demo-deml", "OTHER": "x:1"}
    assert targets(env) == [("DATABASE_URL", "postgres", 5432), ("REDPANDA_BROKERS", "redpanda", 9092),
                            ("DRAGONFLY_HOST", "dragonfly", 6379)]


def test_a_leaked_secret_is_named():
    check_no_value("file", "nothing here", {"db": "s3cr3t-value"})
    with pytest.raises(AssertionError, match="contains the value of db"):
        check_no_value("file", "password: s3cr3t-value", {"db": "s3cr3t-value"})
