"""SASL: the broker has no anonymous door; wrong passwords and wrong mechanisms are refused.

A rejection counts only when it is the broker's own answer, asserted by code and text, for confluent-kafka and
for kcat alike; the check returns as soon as that answer arrives. A timeout, a closed port ("Connection refused")
or any other answer is not a rejection: the check fails and says what it saw. `check_rejected`, `check_accepted`
and their kcat twins are run against broken variants in tests/test_sasl_variant.py to show they can fail.

What the broker answers (Kafka semantics; measured on the offline stand-in, Kafka 4.1 with SASL/SCRAM):
- a client that skips SASL gets its ApiVersions answered, then the connection is closed on its first other request
  (the broker logs "Unexpected Kafka request of type METADATA during SASL handshake"); librdkafka does not raise
  this through error_cb, only as the FAIL log line "Disconnected: connection closed by peer ... in state UP"
  (its _TRANSPORT failure), the state that tells it apart from "Connection refused" (state CONNECT);
- a wrong password or an unknown user: _AUTHENTICATION "SASL authentication error: Authentication failed during
  authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256";
- the PLAIN mechanism: _AUTHENTICATION "SASL PLAIN mechanism handshake failed: Broker: Unsupported SASL mechanism".
"""
from __future__ import annotations

import glob
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

import pytest

from contracts.support import kafka_conf

pytestmark = pytest.mark.services("redpanda")


@dataclass(frozen=True)
class Answer:
    code: str
    pattern: str
    says: str

    def matches(self, code: str, message: str) -> bool:
        return code == self.code and re.search(self.pattern, message) is not None


ANSWERS = {
    "sasl-required": Answer("_TRANSPORT", r"Disconnected: connection closed by peer.*in state UP\)",
                            "connection closed by the broker after ApiVersions (a SASL listener refuses a client "
                            "that skips SASL)"),
    "invalid-credentials": Answer("_AUTHENTICATION", r"SASL authentication error: .*(invalid credentials|"
                                                     r"[Aa]uthentication failed)",
                                  "SASL authentication error: invalid credentials"),
    "unsupported-mechanism": Answer("_AUTHENTICATION", r"Unsupported SASL mechanism",
                                    "Unsupported SASL mechanism"),
}
# What a client sees when no broker answers at all: not a rejection.
NO_BROKER = re.compile(r"Connection refused|Connect to .* failed|Failed to resolve|[Tt]imed out|No route to host|"
                       r"Network is unreachable")
# Failures librdkafka logs (facility FAIL) without raising them through error_cb; all are broker-connection
# (_TRANSPORT) failures — authentication failures also reach error_cb, which wins.
TRANSPORT = "_TRANSPORT"

ANONYMOUS = {"security.protocol": "PLAINTEXT", "sasl.mechanism": None, "sasl.username": None, "sasl.password": None}
CASES = {  # name: (client settings over the application user's, the broker's expected answer)
    "anonymous": (ANONYMOUS, "sasl-required"),
    "wrong-password": ({"sasl.password": "wrong-password"}, "invalid-credentials"),
    "wrong-mechanism": ({"sasl.mechanism": "PLAIN"}, "unsupported-mechanism"),
    "unknown-user": ({"sasl.username": "nobody", "sasl.password": "nothing"}, "invalid-credentials"),
}
CLIENT_KEYS = ("bootstrap.servers", "security.protocol", "sasl.mechanism", "sasl.username", "sasl.password")


def describe(overrides: dict) -> str:
    """The client in words, for messages (no real password: overrides carry only made-up ones)."""
    if overrides.get("security.protocol") == "PLAINTEXT":
        return "an anonymous client (security.protocol=PLAINTEXT, no SASL)"
    if not overrides:
        return "the application user"
    return "a client with " + ", ".join(f"{k}={v}" for k, v in overrides.items())


def client_conf(e, overrides: dict) -> dict:
    conf = kafka_conf(e, **{"socket.timeout.ms": 3000, **overrides})
    return {k: v for k, v in conf.items() if v is not None}


def log_text(line: str) -> str:
    """A librdkafka log line without its thread and broker prefix: "[thrd:B]: B: TEXT" -> "TEXT"."""
    return re.sub(r"^\[thrd:[^\]]*\]:\s*(?:\S+:\s)?", "", line.strip())


class _Log:
    """A `logger` for confluent-kafka: keeps librdkafka's log lines (it calls log(level, fmt, fac, name, text))."""

    def __init__(self):
        self.lines: list[tuple[str, str]] = []

    def log(self, _level, _fmt, fac, _name, text, *_):
        self.lines.append((fac, log_text(text)))


def kafka_answer(e, overrides: dict, timeout: float = 6.0) -> dict:
    """What the broker answers a confluent-kafka client with these settings, as soon as it answers:
    {"accepted": True, brokers, topics, seconds} when metadata comes back, else the first failure
    {"accepted": False, code, message, seconds} (error_cb's KafkaError, or the FAIL log line librdkafka does not
    raise), or {"accepted": False, code: None, ...} when nothing came back within `timeout`."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    errors: list = []
    log = _Log()
    t0 = time.monotonic()
    admin = AdminClient({**client_conf(e, overrides), "log_level": 4, "logger": log, "error_cb": errors.append})

    def failure():
        seen = [err for err in errors if err.name() != "_ALL_BROKERS_DOWN"]
        if seen:
            return {"accepted": False, "code": seen[0].name(), "message": seen[0].str()}
        fails = [text for fac, text in log.lines if fac == "FAIL"]
        if fails:
            admin.poll(0.05)  # the error_cb twin of this line, if librdkafka raises one
            seen = [err for err in errors if err.name() != "_ALL_BROKERS_DOWN"]
            if seen:
                return {"accepted": False, "code": seen[0].name(), "message": seen[0].str()}
            return {"accepted": False, "code": TRANSPORT, "message": fails[0]}
        return None

    while time.monotonic() - t0 < timeout:
        admin.poll(0.02)
        got = failure()
        if got:
            return {**got, "seconds": round(time.monotonic() - t0, 2)}
        try:
            md = admin.list_topics(timeout=min(0.1, max(0.01, timeout - (time.monotonic() - t0))))
            return {"accepted": True, "brokers": len(md.brokers), "topics": len(md.topics),
                    "seconds": round(time.monotonic() - t0, 2)}
        except KafkaException:
            pass
    return {"accepted": False, "code": None, "message": f"no answer within {timeout} s",
            "seconds": round(time.monotonic() - t0, 2)}


def metadata_error(e, **overrides) -> str:
    """'' when a metadata request succeeds with these client settings, else the first failure, "CODE message".
    Any failure counts, a closed port included: to prove a rejection, use check_rejected (this stays for
    tests/test_stack_smoke.py)."""
    got = kafka_answer(e, overrides)
    return "" if got["accepted"] else f"{got['code'] or 'no answer'} {got['message']}"


def judge(client: str, bootstrap: str, overrides: dict, expect: str, got: dict) -> dict:
    """The verdict on one answer: returns it when it is the expected rejection, else raises AssertionError."""
    want = ANSWERS[expect]
    what = describe(overrides)
    if got["accepted"]:
        raise AssertionError(f"the broker at {bootstrap} accepted {what} ({client}: {got.get('message') or ''}"
                             f"{got.get('brokers', '?')} broker(s), {got.get('topics', '?')} topic(s) in metadata "
                             f"after {got['seconds']} s); expected the rejection {want.code} {want.says!r}")
    if got["code"] is None or NO_BROKER.search(got["message"]):
        raise AssertionError(f"no broker answered at {bootstrap} ({client}, {what}): {got['code'] or ''} "
                             f"{got['message']} after {got['seconds']} s — not a rejection; expected {want.code} "
                             f"{want.says!r}")
    if not want.matches(got["code"], got["message"]):
        raise AssertionError(f"the broker at {bootstrap} answered {what} with {got['code']} {got['message']!r} "
                             f"({client}, {got['seconds']} s), not the expected {want.code} {want.says!r}")
    return {"client": client, "expect": expect, **got}


def check_rejected(e, overrides: dict, expect: str, timeout: float = 6.0) -> dict:
    """confluent-kafka with these settings is refused with the `expect` answer (ANSWERS); returns code, message,
    seconds. Fails on acceptance, on no answer (closed port, timeout) and on any other answer."""
    return judge("confluent-kafka", e.kafka_bootstrap, overrides, expect, kafka_answer(e, overrides, timeout))


def _accepted(who: str, e, got: dict) -> dict:
    assert got["accepted"], (f"{who} was not accepted at {e.kafka_bootstrap}: "
                             f"{got['code']} {got['message']} after {got['seconds']} s")
    return got


def check_accepted(e, overrides: dict | None = None, timeout: float = 6.0) -> dict:
    return _accepted(describe(overrides or {}), e, kafka_answer(e, overrides or {}, timeout))


def kcat_env(folder) -> dict:
    """kcat runs on the librdkafka bundled with confluent-kafka (≥ 2.6.1): the OS's 2.0.2 has a SCRAM nonce bug
    that Kafka 4.x (the offline Redpanda stand-in) rejects even with the right password."""
    import confluent_kafka

    env = dict(os.environ)
    libs = glob.glob(os.path.join(os.path.dirname(confluent_kafka.__file__), "..", "confluent_kafka.libs",
                                  "librdkafka-*.so.1"))
    if libs:
        os.symlink(os.path.realpath(libs[0]), os.path.join(folder, "librdkafka.so.1"))
        env["LD_LIBRARY_PATH"] = str(folder)
    return env


KCAT_LOG = re.compile(r"^%(\d)\|[\d.]+\|(\w+)\|[^|]*\|\s*(.*)$")  # %LEVEL|TIME|FACILITY|CLIENT| TEXT


def kcat_answer(e, overrides: dict, timeout: float = 6.0) -> dict:
    """What the broker answers `kcat -L` with these settings, read from kcat's stderr line by line; kcat is stopped
    as soon as a failure line arrives. Settings go through a 0600 file (-F), not the command line."""
    assert shutil.which("kcat"), "kcat is missing: scripts/provision-docker.sh installs it"
    conf = {k: v for k, v in client_conf(e, overrides).items() if k in CLIENT_KEYS and k != "bootstrap.servers"}
    with tempfile.TemporaryDirectory(prefix="topo-kcat-") as folder:
        props = os.path.join(folder, "kcat.conf")
        with open(os.open(props, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.writelines(f"{k}={v}\n" for k, v in conf.items())
        t0 = time.monotonic()
        proc = subprocess.Popen(["kcat", "-F", props, "-L", "-b", e.kafka_bootstrap, "-m", str(int(timeout) + 1)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=kcat_env(folder))
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: ([lines.put(x) for x in proc.stderr], lines.put(None)), daemon=True).start()
        seen: list[str] = []
        try:
            while (left := timeout - (time.monotonic() - t0)) > 0:
                try:
                    line = lines.get(timeout=left)
                except queue.Empty:
                    break
                if line is None:  # kcat ended
                    code = proc.wait(timeout=5)
                    out = proc.stdout.read()
                    if code == 0:
                        brokers = re.search(r"(\d+) brokers:", out)
                        return {"accepted": True, "brokers": int(brokers.group(1)) if brokers else "?",
                                "topics": "?", "message": "kcat -L exited 0; ",
                                "seconds": round(time.monotonic() - t0, 2)}
                    return {"accepted": False, "code": None, "seconds": round(time.monotonic() - t0, 2),
                            "message": f"kcat exited {code} without a broker answer: {' | '.join(seen)[-300:]}"}
                seen.append(line.strip())
                m = KCAT_LOG.match(line.strip())
                if m and m.group(2) == "FAIL":
                    text = log_text(m.group(3))
                    code = "_AUTHENTICATION" if re.search(r"SASL|[Aa]uthentication", text) else TRANSPORT
                    return {"accepted": False, "code": code, "message": text,
                            "seconds": round(time.monotonic() - t0, 2)}
            return {"accepted": False, "code": None, "seconds": round(time.monotonic() - t0, 2),
                    "message": f"no answer within {timeout} s: {' | '.join(seen)[-300:]}"}
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=5)


def check_kcat_rejected(e, overrides: dict, expect: str, timeout: float = 6.0) -> dict:
    """kcat (a client nobody here wrote) with these settings is refused with the `expect` answer, read from its
    stderr; fails on acceptance, on no answer and on any other answer."""
    return judge("kcat", e.kafka_bootstrap, overrides, expect, kcat_answer(e, overrides, timeout))


def check_kcat_accepted(e, overrides: dict | None = None, timeout: float = 6.0) -> dict:
    return _accepted(f"kcat as {describe(overrides or {})}", e, kcat_answer(e, overrides or {}, timeout))


def test_the_application_user_is_accepted(endpoints):
    """The application's SCRAM user gets metadata (the control for the rejections below)."""
    check_accepted(endpoints)


@pytest.mark.parametrize("case", list(CASES))
def test_the_broker_rejects_clients_without_valid_scram_credentials(endpoints, case):
    """Anonymous clients, wrong passwords, unknown users and the PLAIN mechanism get the broker's refusal
    (confluent-kafka)."""
    overrides, expect = CASES[case]
    check_rejected(endpoints, overrides, expect)


@pytest.mark.parametrize("case", [*CASES, "valid"])
def test_kcat_sees_the_same_doors(endpoints, case):
    """kcat (a client nobody here wrote) gets the same refusals without valid SCRAM credentials, and metadata
    with them."""
    if case == "valid":
        check_kcat_accepted(endpoints)
    else:
        check_kcat_rejected(endpoints, *CASES[case])
