"""The Firestore security rules shipped in deml/firebase, unit-tested the way Firebase users do it
(tests/firestore-rules: @firebase/rules-unit-testing + the firebase JS SDK, run with `node --test`), against a
Firestore emulator started from the deml/firebase image alone — and shown able to fail: the same tests against an
allow-all variant of the rules must fail, naming the cases that caught it. The same emulator also shows that the
image loads its rules at start (firebase.json), that server credentials bypass them, and that the contract
check of contracts/test_firestore_rules.py catches the allow-all variant.

Needs Docker, the deml/firebase image (`topo images build firebase`) and Node >= 20 with npm. Without them the
test skips locally and FAILS when CI=true."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from contracts.test_firestore_rules import DENIED, check_clients_confined, seen
from harness import clients
from harness.runtime.docker import docker_available, run

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "firestore-rules"
SHIPPED_RULES = ROOT / "images" / "firebase" / "firestore.rules"
PROJECT = "demo-rules-test"  # never the stack's project (demo-deml)
START_DEADLINE_S = 180.0
NODE_TIMEOUT_S = 300.0

ALLOW_ALL = """rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /{document=**} { allow read, write: if true; }
  }
}
"""

# The cases that only pass when the rules deny: with allow-all rules, exactly these must fail.
DENIAL_CASES = {
    "unauthenticated: cannot read tenants/acme",
    "unauthenticated: cannot read acme projections, counters, markers",
    "unauthenticated: cannot list tenants",
    "unauthenticated: cannot overwrite tenants/acme/stats/counters",
    "unauthenticated: cannot create a tenant",
    "acme: cannot read tenants/globex",
    "acme: cannot read globex's projections, counters, markers",
    "acme: cannot list globex's events",
    "acme: cannot list the tenants collection",
    "acme: cannot query the events collection group",
    "acme: cannot write its counters (set, update, increment)",
    "acme: cannot write or delete its projections",
    "acme: cannot write processed markers",
    "acme: cannot write health or rollups",
    "acme: cannot write its tenant document",
    "acme: cannot write globex's counters",
    "a token without a tenant_id claim cannot read tenants/acme",
    "globex: reads its own tenant but not acme",
    "unknown paths: denied to read and write, signed in or not",
}
# ...and these pass under any rules that let a tenant read its own data (the control inside the variant run).
ALLOWED_CASES = {
    "acme: reads its tenant document",
    "acme: reads its projections, counters, health, markers and rollups",
    "acme: lists its events",
    "the server (owner credential) bypasses the rules",
}


def _unavailable(what: str) -> None:
    """Missing tooling: a skip on a workstation, a failure in CI (CI=true), where it must never go unnoticed."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} (CI=true: the Firestore rules tests must run in CI)", pytrace=False)
    pytest.skip(what)


def _firebase_image() -> str:
    from harness.loader import load

    return load(ROOT / "topology.yaml")[0].images["firebase"].ref


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _probe(host: str) -> None:
    """A real probe: write a document as the server (Bearer owner bypasses the rules), read it back."""
    from harness.runtime.probes import FirestoreProbe

    FirestoreProbe("firestore-rules-emulator", host, PROJECT).check()


@dataclass(frozen=True)
class Emulator:
    firestore: str  # host:port
    auth: str  # host:port
    first_anonymous_read: tuple[int, str]  # what an unauthenticated read answered before any test loaded rules


def _document_url(host: str, path: str) -> str:
    return f"http://{host}/v1/projects/{PROJECT}/databases/(default)/documents/{path}"


def load_rules(host: str, rules: Path) -> None:
    """Replace the project's rules in a running emulator (what @firebase/rules-unit-testing does)."""
    r = requests.put(f"http://{host}/emulator/v1/projects/{PROJECT}:securityRules", timeout=30,
                     json={"rules": {"files": [{"content": rules.read_text()}]}})
    assert r.status_code == 200, f"the emulator refused the rules {rules}: HTTP {r.status_code} {r.text[:500]}"


@pytest.fixture(scope="module")
def emulator() -> Emulator:
    """Auth + Firestore emulators of deml/firebase (project demo-rules-test, read-only root, no capabilities) on
    random free ports of 127.0.0.1; the container is always removed afterwards."""
    if not docker_available():
        _unavailable("no Docker engine answers `docker info`")
    image = _firebase_image()
    if run(["docker", "image", "inspect", image], check=False, timeout=30).returncode != 0:
        _unavailable(f"image {image} is missing: `topo images build firebase`")
    name, fs_port, auth_port = f"topo-firestore-rules-{uuid.uuid4().hex[:8]}", _free_port(), _free_port()
    cmd = ["docker", "run", "-d", "--name", name, "--label", "org.topo.test=firestore-rules",
           "--read-only", "--tmpfs", "/tmp:rw,exec,uid=10001,gid=10001,mode=1777", "--cap-drop", "ALL",
           "--security-opt", "no-new-privileges:true", "--no-healthcheck",
           "-e", f"FIREBASE_PROJECT={PROJECT}", "-e", "FIREBASE_EMULATORS=auth,firestore",
           "-p", f"127.0.0.1:{fs_port}:8080", "-p", f"127.0.0.1:{auth_port}:9099", image]
    try:
        run(cmd, timeout=120)
        host = f"127.0.0.1:{fs_port}"
        deadline, last = time.monotonic() + START_DEADLINE_S, "no attempt"
        while True:
            try:
                _probe(host)
                requests.post(f"http://127.0.0.1:{auth_port}/identitytoolkit.googleapis.com/v1/accounts:signUp"
                              "?key=topo-probe", json={"returnSecureToken": True}, timeout=3).raise_for_status()
                break
            except (requests.RequestException, RuntimeError, KeyError, ValueError) as exc:
                last = f"{type(exc).__name__}: {str(exc)[:200]}"
            state = run(["docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name],
                        check=False, timeout=30).stdout.strip()
            if not state.startswith("running") or time.monotonic() > deadline:
                logs = run(["docker", "logs", "--tail", "40", name], check=False, timeout=30)
                pytest.fail(f"the emulators ({image}) did not answer a Firestore write+read and an Auth sign-up "
                            f"within {START_DEADLINE_S:.0f} s (container: {state or 'gone'}; last probe: {last})\n"
                            f"{logs.stdout}{logs.stderr}", pytrace=False)
            time.sleep(0.5)  # between probe attempts, bounded by the deadline above
        first = seen(requests.get(_document_url(host, "tenants/acme"), timeout=10))
        yield Emulator(host, f"127.0.0.1:{auth_port}", first)
    finally:
        run(["docker", "rm", "-f", "-v", name], check=False, timeout=60)


@pytest.fixture(scope="module")
def node_suite() -> Path:
    """tests/firestore-rules with its dependencies installed (`npm ci` from the committed lock file when
    node_modules is missing)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        _unavailable("Node >= 20 with npm is needed for the Firestore rules tests (node --test)")
    major = int(re.match(r"v(\d+)", run([node, "--version"], timeout=30).stdout.strip()).group(1))
    if major < 20:
        _unavailable(f"Node {major} is too old: @firebase/rules-unit-testing needs Node >= 20")
    if not (SUITE / "node_modules" / ".package-lock.json").exists():
        run([npm, "ci", "--no-audit", "--no-fund"], cwd=SUITE, timeout=600,
            hint="the npm registry must be reachable once (`make rules-deps`)")
    return SUITE


def run_rules_tests(host: str, rules: Path) -> tuple[int, dict[str, str], set[str], str]:
    """Run the node suite against `rules`; return (exit code, {failed case: error}, passed cases, TAP output)."""
    env = {**os.environ, "FIRESTORE_EMULATOR_HOST": host, "FIRESTORE_RULES": str(rules),
           "RULES_PROJECT_ID": PROJECT, "NO_COLOR": "1"}
    out = subprocess.run(["node", "--test", "--test-reporter=tap", "rules.test.mjs"], cwd=SUITE, env=env,
                         capture_output=True, text=True, timeout=NODE_TIMEOUT_S)
    failed, passed = parse_tap(out.stdout)
    return out.returncode, failed, passed, out.stdout + out.stderr


def parse_tap(tap: str) -> tuple[dict[str, str], set[str]]:
    """Leaf test points of node's TAP output (describe blocks are `type: 'suite'` and left out)."""
    failed: dict[str, str] = {}
    passed: set[str] = set()
    lines = tap.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^\s*(not ok|ok) \d+ - (.+?)(?: # .*)?$", line)
        if not m:
            continue
        block: list[str] = []
        if i + 1 < len(lines) and lines[i + 1].strip() == "---":
            for follow in lines[i + 2:]:
                if follow.strip() == "...":
                    break
                block.append(follow.strip())
        if "type: 'suite'" in block:
            continue
        name = m.group(2).replace("\\#", "#")
        if m.group(1) == "ok":
            passed.add(name)
        else:
            error = next((b.split(":", 1)[1].strip() for b in block if b.startswith("error:")), "?")
            failed[name] = error
    return failed, passed


def test_the_image_enforces_its_rules_from_the_start(emulator):
    """The image loads firestore.rules at start: before any test loads rules, an unauthenticated read is denied
    while the server credential (Bearer owner) writes and reads."""
    assert emulator.first_anonymous_read == DENIED, (
        f"unauthenticated GET tenants/acme right after start answered {emulator.first_anonymous_read}, "
        "expected HTTP 403 PERMISSION_DENIED: the image does not load firestore.rules")
    owner = {"Authorization": "Bearer owner"}
    w = requests.patch(_document_url(emulator.firestore, "tenants/acme/stats/counters"), headers=owner, timeout=10,
                       json={"fields": {"events_total": {"integerValue": "1"}}})
    assert w.status_code == 200, f"the server credential could not write: HTTP {w.status_code} {w.text[:200]}"
    r = requests.get(_document_url(emulator.firestore, "tenants/acme/stats/counters"), headers=owner, timeout=10)
    assert r.status_code == 200 and r.json()["fields"]["events_total"]["integerValue"] == "1", r.text[:200]


def test_the_shipped_rules_pass_every_case(emulator, node_suite):
    """The shipped firestore.rules pass every allowed/denied case of tests/firestore-rules."""
    code, failed, passed, output = run_rules_tests(emulator.firestore, SHIPPED_RULES)
    assert code == 0 and not failed, f"node --test exited {code}; failed: {failed}\n{output[-4000:]}"
    assert passed == DENIAL_CASES | ALLOWED_CASES, f"unexpected set of cases: {sorted(passed)}"


def test_allow_all_rules_fail_exactly_the_denial_cases(emulator, node_suite, tmp_path):
    """Allow-all rules fail the suite: a non-zero exit, and every denial case (and only those) fails."""
    variant = tmp_path / "allow-all.rules"
    variant.write_text(ALLOW_ALL)
    code, failed, passed, output = run_rules_tests(emulator.firestore, variant)
    assert code != 0, f"node --test passed allow-all rules: the suite cannot fail\n{output[-4000:]}"
    assert set(failed) == DENIAL_CASES, (
        f"with allow-all rules expected exactly the denial cases to fail;\n"
        f"  failed but not expected: {sorted(set(failed) - DENIAL_CASES)}\n"
        f"  expected but passed: {sorted(DENIAL_CASES - set(failed))}\n{output[-4000:]}")
    assert all("Expected request to fail, but it succeeded" in e for e in failed.values()), failed
    assert passed == ALLOWED_CASES, f"the allowed cases must still pass: passed {sorted(passed)}"


@pytest.mark.catches("contracts/test_firestore_rules.py", variant="allow-all Firestore rules (any client reads and "
                     "writes any tenant)")
def test_the_contract_check_passes_the_shipped_rules_and_catches_allow_all(emulator, tmp_path):
    """contracts/test_firestore_rules.check_clients_confined holds under the shipped rules and fails, naming the
    broken promises, under allow-all rules (real Auth-emulator ID tokens with the tenant_id claim)."""
    acme = clients.sign_in(emulator.auth, PROJECT, "acme")
    globex = clients.sign_in(emulator.auth, PROJECT, "globex")
    requests.patch(_document_url(emulator.firestore, "tenants/acme"), headers={"Authorization": "Bearer owner"},
                   json={"fields": {"id": {"stringValue": "acme"}}}, timeout=10).raise_for_status()
    variant = tmp_path / "allow-all.rules"
    variant.write_text(ALLOW_ALL)
    try:
        load_rules(emulator.firestore, SHIPPED_RULES)
        got = check_clients_confined(emulator.firestore, PROJECT, acme.id_token, globex.id_token)
        assert got["acme's own token reading tenants/acme"] == (200, "")
        load_rules(emulator.firestore, variant)
        with pytest.raises(AssertionError) as caught:
            check_clients_confined(emulator.firestore, PROJECT, acme.id_token, globex.id_token)
        message = str(caught.value)
        for promise in ("unauthenticated read of tenants/acme answered HTTP 200",
                        "another tenant's token reading tenants/acme answered HTTP 200",
                        "acme's own token writing tenants/acme/stats/counters answered HTTP 200"):
            assert promise in message, message
    finally:
        load_rules(emulator.firestore, SHIPPED_RULES)
