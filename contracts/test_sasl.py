"""SASL: the broker has no anonymous door; wrong passwords and wrong mechanisms are refused."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess

import pytest

from contracts.support import kafka_conf

pytestmark = pytest.mark.services("redpanda")


def metadata_error(e, **overrides) -> str:
    """'' when a metadata request succeeds with these client settings, else the error."""
    from confluent_kafka.admin import AdminClient

    conf = kafka_conf(e, **{"socket.timeout.ms": 3000, **overrides})
    try:
        AdminClient({k: v for k, v in conf.items() if v is not None}).list_topics(timeout=6)
        return ""
    except Exception as exc:  # noqa: BLE001
        return str(exc) or type(exc).__name__


def test_the_application_user_is_accepted(endpoints):
    """The application's SCRAM user gets metadata (the control for the rejections below)."""
    assert metadata_error(endpoints) == ""


@pytest.mark.parametrize("overrides", [
    {"security.protocol": "PLAINTEXT", "sasl.mechanism": None, "sasl.username": None, "sasl.password": None},
    {"sasl.password": "wrong-password"},
    {"sasl.mechanism": "PLAIN"},
    {"sasl.username": "nobody", "sasl.password": "nothing"},
], ids=["anonymous", "wrong-password", "wrong-mechanism", "unknown-user"])
def test_the_broker_rejects_clients_without_valid_scram_credentials(endpoints, overrides):
    """Anonymous clients, wrong passwords, unknown users and the PLAIN mechanism are rejected (confluent-kafka)."""
    assert metadata_error(endpoints, **overrides), f"the broker accepted {overrides}"


def kcat_env(tmp_path) -> dict:
    """kcat runs on the librdkafka bundled with confluent-kafka (≥ 2.6.1): the OS's 2.0.2 has a SCRAM nonce bug
    that Kafka 4.x (the offline Redpanda stand-in) rejects even with the right password."""
    import confluent_kafka

    env = dict(os.environ)
    libs = glob.glob(os.path.join(os.path.dirname(confluent_kafka.__file__), "..", "confluent_kafka.libs",
                                  "librdkafka-*.so.1"))
    if libs:
        (tmp_path / "librdkafka.so.1").symlink_to(os.path.realpath(libs[0]))
        env["LD_LIBRARY_PATH"] = str(tmp_path)
    return env


@pytest.mark.parametrize("extra, accepted", [
    ([], False),
    (["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=APP",
      "-X", "sasl.password=wrong-password"], False),
    (["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=PLAIN", "-X", "sasl.username=APP",
      "-X", "sasl.password=PASSWORD"], False),
    (["-X", "security.protocol=SASL_PLAINTEXT", "-X", "sasl.mechanisms=SCRAM-SHA-256", "-X", "sasl.username=APP",
      "-X", "sasl.password=PASSWORD"], True),
], ids=["anonymous", "wrong-password", "wrong-mechanism", "valid"])
def test_kcat_sees_the_same_doors(endpoints, tmp_path, extra, accepted):
    """kcat (a client nobody here wrote) is refused without valid SCRAM credentials and accepted with them."""
    assert shutil.which("kcat"), "kcat is missing: scripts/provision-docker.sh installs it"
    args = [a.replace("APP", endpoints.kafka_app_user).replace("PASSWORD", endpoints.kafka_app_password) for a in extra]
    out = subprocess.run(["kcat", "-L", "-b", endpoints.kafka_bootstrap, "-m", "6", *args], capture_output=True,
                         text=True, timeout=30, env=kcat_env(tmp_path))
    assert (out.returncode == 0) is accepted, out.stderr[-400:]
