"""The SASL contract can fail: its checks, run against a broken variant of the broker, do.

One broker container (the topology's Redpanda image: upstream or the offline stand-in, never pulled) with SASL on
is the control: every check of contracts/test_sasl.py passes. The same image with SASL off lets an anonymous client
in: the anonymous check fails naming what was accepted. A closed port and a listener that never answers fail the
checks too: "no broker answered", never "rejected"."""
from __future__ import annotations

import secrets
import socket
import time
import uuid
from dataclasses import dataclass

import pytest

from contracts.test_sasl import (
    ANONYMOUS, CASES, check_accepted, check_kcat_accepted, check_kcat_rejected, check_rejected,
)
from harness.runtime.docker import run

pytestmark = pytest.mark.docker


@dataclass
class Broker:
    """What the checks read of an Endpoints (kafka_conf and the check functions use only these)."""
    kafka_bootstrap: str
    kafka_app_user: str = "app"
    kafka_app_password: str = ""
    kafka_mechanism: str = "SCRAM-SHA-256"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _image(config) -> str:
    from harness.loader import load
    from harness.pytest_plugin import _topology_path

    ref = load(_topology_path(config).resolve())[0].images["redpanda"].ref
    if run(["docker", "image", "inspect", ref], check=False, timeout=30).returncode != 0:
        pytest.skip(f"{ref} is not built here (topo images build): this test never pulls")
    return ref


def _start(image: str, sasl: bool) -> tuple[str, Broker]:
    port, password = _free_port(), secrets.token_urlsafe(12)
    name = f"topo-sasl-variant-{'on' if sasl else 'off'}-{uuid.uuid4().hex[:6]}"
    cmd = ["docker", "run", "-d", "--pull", "never", "--name", name, "--memory", "1500m",
           "-e", f"RP_BOOTSTRAP_USER=app:{password}", "-p", f"127.0.0.1:{port}:9092", image,
           "redpanda", "start", "--memory", "1G", "--kafka-addr", "internal://0.0.0.0:9092",
           "--advertise-kafka-addr", f"internal://127.0.0.1:{port}"]
    if sasl:
        cmd += ["--set", "redpanda.enable_sasl=true"]
    run(cmd, timeout=60)
    return name, Broker(f"127.0.0.1:{port}", kafka_app_password=password)


def _wait(name: str, broker: Broker, overrides: dict, timeout: float = 150.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            check_accepted(broker, overrides, timeout=3)
            return
        except AssertionError as exc:
            if time.monotonic() > deadline:
                logs = run(["docker", "logs", "--tail", "20", name], check=False, timeout=30)
                raise AssertionError(f"{name} never answered: {exc}\n{logs.stdout}{logs.stderr}") from None
            time.sleep(1)


@pytest.fixture(scope="module")
def brokers(pytestconfig):
    """{"sasl": Broker, "open": Broker}: the same image with SASL on (the control) and off (the variant), started
    together, always removed."""
    image = _image(pytestconfig)
    names: list[str] = []
    try:
        on_name, on = _start(image, sasl=True)
        names.append(on_name)
        off_name, off = _start(image, sasl=False)
        names.append(off_name)
        _wait(on_name, on, {})
        _wait(off_name, off, ANONYMOUS)
        yield {"sasl": on, "open": off}
    finally:
        for name in names:
            run(["docker", "rm", "-f", "-v", name], check=False, timeout=60)


def test_the_reference_checks_pass_on_a_sasl_broker(brokers):
    """The control: the application user is accepted and every rejection is the broker's own answer, fast."""
    b = brokers["sasl"]
    assert check_accepted(b)["accepted"] and check_kcat_accepted(b)["accepted"]
    for overrides, expect in CASES.values():
        for check in (check_rejected, check_kcat_rejected):
            got = check(b, overrides, expect)
            assert got["seconds"] < 3, got  # the answer, not a client timeout


@pytest.mark.catches("contracts/test_sasl.py", variant="the broker image with SASL off (anonymous clients let in)")
def test_a_broker_that_lets_anonymous_clients_in_fails_the_contract(brokers):
    """Broken variant: SASL off, the listener is PLAINTEXT and anonymous. The anonymous check fails naming what was
    accepted, for confluent-kafka and for kcat."""
    b = brokers["open"]
    overrides, expect = CASES["anonymous"]
    with pytest.raises(AssertionError, match=r"accepted an anonymous client \(security.protocol=PLAINTEXT"):
        check_rejected(b, overrides, expect)
    with pytest.raises(AssertionError, match=r"accepted an anonymous client .*kcat"):
        check_kcat_rejected(b, overrides, expect)


@pytest.mark.catches("contracts/test_sasl.py", variant="no broker at all (a closed port is no rejection)")
def test_a_closed_port_is_no_rejection():
    """Nothing listening ("Connection refused") fails every rejection check: no broker answered."""
    b = Broker(f"127.0.0.1:{_free_port()}", kafka_app_password="unused")
    for overrides, expect in CASES.values():
        for check in (check_rejected, check_kcat_rejected):
            with pytest.raises(AssertionError, match="no broker answered") as info:
                check(b, overrides, expect)
            assert "Connection refused" in str(info.value) and "rejected" not in str(info.value)


def test_a_listener_that_never_answers_is_no_rejection():
    """A port that accepts connections and never answers (a hung broker, a wrong service) fails by timeout: no
    broker answered."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        b = Broker(f"127.0.0.1:{silent.getsockname()[1]}", kafka_app_password="unused")
        overrides, expect = CASES["anonymous"]
        for check in (check_rejected, check_kcat_rejected):
            t0 = time.monotonic()
            with pytest.raises(AssertionError, match="no broker answered"):
                check(b, overrides, expect, timeout=2)
            assert time.monotonic() - t0 < 5
