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


# ---- secrets in docker inspect: what each service may show, per target (issue 12) -----------------------------------

def _reference():
    from harness.loader import load
    from tests.conftest import ROOT

    return load(ROOT / "topology.yaml")[0]


SECRETS = {"redpanda-admin-password": "adm1n-Password-xyz", "redpanda-bootstrap-user": "admin:adm1n-Password-xyz:SCRAM-SHA-256",
           "redpanda-app-password": "app-Password-123456", "clickhouse-password": "ch-Password-123456",
           "postgres-password": "pg-Password-123456"}


def _inspects(topology, target: str, extra: dict[str, dict[str, str]] | None = None) -> dict[str, dict]:
    """docker inspect documents as the target renders them: secret values in Env only where it passes values."""
    out = {}
    for s in topology.services:
        env = [f"{k}={v}" for k, v in s.env]
        for var, secret in s.secrets:
            env.append(f"{var}={SECRETS[secret]}" if target == "aws-emulation" or s.secrets_as == "env"
                       else f"{var}_FILE=/run/secrets/{secret}")
        env += [f"{k}={v}" for k, v in (extra or {}).get(s.name, {}).items()]
        out[s.name] = {"Config": {"Env": env, "Cmd": list(s.command), "Labels": {"com.docker.compose.service": s.name}},
                       "Mounts": [{"Source": f"/x/.topo/secrets/{sec}"} for _v, sec in s.secrets]}
    return out


@pytest.mark.parametrize("target", ["compose", "aws-emulation"])
def test_declared_secret_exposure_passes_and_says_what_it_checked(target):
    from contracts.test_secrets import check_secret_exposure

    t = _reference()
    checked = check_secret_exposure(t, target, SECRETS, _inspects(t, target))
    assert (checked["services"], checked["secrets"]) == (len(t.services), len(t.secrets)) == (10, 5)
    assert checked["pairs"] == 50
    # the broker's bootstrap user is built from the admin password: seeing one shows the other, as declared
    assert {"redpanda:redpanda-admin-password", "redpanda:redpanda-bootstrap-user"} <= set(checked["visible_as_declared"])


@pytest.mark.catches("contracts/test_secrets.py", variant="a service shows a secret it does not declare (frontend: "
                                                           "the broker admin password; synthetic inspect)")
@pytest.mark.parametrize("target", ["compose", "aws-emulation"])
def test_a_secret_the_service_does_not_declare_is_caught(target):
    from contracts.test_secrets import check_secret_exposure

    t = _reference()
    broken = _inspects(t, target, {"frontend": {"DEBUG_ADMIN": SECRETS["redpanda-admin-password"]}})
    with pytest.raises(AssertionError, match=r"frontend: the value of redpanda-admin-password is visible in docker "
                                             r"inspect \(Config.Env DEBUG_ADMIN\), but frontend does not declare"):
        check_secret_exposure(t, target, SECRETS, broken)


@pytest.mark.catches("contracts/test_secrets.py", variant="a secret declared as a file is passed as a value on compose "
                                                           "(synthetic inspect)")
def test_a_file_secret_visible_as_a_value_on_compose_is_caught():
    from contracts.test_secrets import check_secret_exposure

    t = _reference()
    broken = _inspects(t, "compose", {"backend": {"DATABASE_PASSWORD": SECRETS["postgres-password"]}})
    with pytest.raises(AssertionError, match="backend: the value of postgres-password .* declares it as a file"):
        check_secret_exposure(t, "compose", SECRETS, broken)
    # on aws-emulation every declared secret is an environment variable: the same inspect is what it must show
    check_secret_exposure(t, "aws-emulation", SECRETS, _inspects(t, "aws-emulation"))


def test_short_secrets_are_checked_as_whole_values_and_empty_ones_fail():
    from contracts.test_secrets import check_no_value, check_secret_exposure

    t = _reference()
    short = dict(SECRETS, **{"postgres-password": "pg7chr!"})
    assert check_secret_exposure(t, "compose", short, _inspects(t, "compose"))["short"] == ["postgres-password"]
    # inside a longer text it is not a hit (a short value would match by chance) ...
    check_secret_exposure(t, "compose", short, _inspects(t, "compose", {"frontend": {"NOTE": "xpg7chr!y"}}))
    # ... as a whole env value it is
    with pytest.raises(AssertionError, match="frontend: the value of postgres-password"):
        check_secret_exposure(t, "compose", short, _inspects(t, "compose", {"frontend": {"X": "pg7chr!"}}))
    with pytest.raises(AssertionError, match="contains the value of db"):
        check_no_value("file", "password: abc\n", {"db": "abc"})
    check_no_value("file", "abcdef", {"db": "abc"})
    with pytest.raises(AssertionError, match="postgres-password have an empty value"):
        check_secret_exposure(t, "compose", dict(SECRETS, **{"postgres-password": ""}), _inspects(t, "compose"))


def test_the_secrets_check_refuses_to_check_nothing():
    from contracts.test_secrets import check_secret_exposure

    t = _reference()
    with pytest.raises(AssertionError, match="declares no secret"):
        check_secret_exposure(t, "compose", {}, _inspects(t, "compose"))
    partial = _inspects(t, "compose")
    del partial["postgres"]
    with pytest.raises(AssertionError, match="no `docker inspect` of postgres"):
        check_secret_exposure(t, "compose", SECRETS, partial)


# ---- environment: counts against what the topology declares -------------------------------------------------------

def test_the_environment_contract_counts_what_the_topology_declares():
    from contracts.test_environment import check_all_app_containers, check_targets_found, expected_targets

    t = _reference()
    apps = {s.name: {} for s in t.services if s.role == "app"}
    assert check_all_app_containers(t, apps) == 5
    assert sum(len(v) for v in expected_targets(t).values()) == 40  # 8 host-valued contract variables × 5
    env = {"DATABASE_URL": "postgresql://deml@postgres:5432/deml", "REDPANDA_BROKERS": "redpanda:9092",
           "CLICKHOUSE_URL": "http://clickhouse:8123", "DRAGONFLY_HOST": "dragonfly",
           "FRONTEND_URL": "http://frontend:4000", "BACKEND_URL": "http://backend:8000",
           "MARKETING_URL": "https://marketing.deml.example", "FIRESTORE_EMULATOR_HOST": "firebase:8080",
           "FIREBASE_AUTH_EMULATOR_HOST": "firebase:9099"}
    assert len(check_targets_found(t, "backend", env)) == 8


@pytest.mark.catches("contracts/test_environment.py", variant="an app container is missing, or a host-valued "
                                                                "variable has no host:port (nothing would be probed)")
def test_missing_app_containers_or_unprobed_targets_are_caught():
    from contracts.test_environment import check_all_app_containers, check_targets_found

    t = _reference()
    with pytest.raises(AssertionError, match="no app service|≠ the topology's app services"):
        check_all_app_containers(t, {})
    with pytest.raises(AssertionError, match=r"≠ the topology's app services"):
        check_all_app_containers(t, {"backend": {}})
    with pytest.raises(AssertionError, match=r"topology.yaml declares one in .*'DATABASE_URL'"):
        check_targets_found(t, "backend", {"DATABASE_URL": "postgresql://deml@/deml", "REDPANDA_BROKERS": "redpanda:9092"})


# ---- the gate: PARTIAL when contracts were skipped (issue 12) -------------------------------------------------------

def test_gate_verdicts():
    from harness.cli import gate_verdict

    full = {"total": 38, "skipped": 0, "violated": 0}
    partial = {"total": 38, "skipped": 13, "skip_reasons": {"this target gives no control over containers": 13}}
    assert gate_verdict(0, full) == ("passed", 0, "")
    assert gate_verdict(1, full)[:2] == ("FAILED", 1)
    assert gate_verdict(0, None)[:2] == ("FAILED", 1)  # no report: nothing proves the verdict
    assert gate_verdict(0, {"total": 0, "skipped": 0})[:2] == ("FAILED", 1)
    word, code, detail = gate_verdict(0, partial)
    assert (word, code) == ("PARTIAL", 1)
    assert "13 of 38 contracts skipped (13 because this target gives no control over containers)" in detail
    assert "--allow-partial" in detail
    assert gate_verdict(0, partial, allow_partial=True)[:2] == ("PARTIAL (allowed by --allow-partial)", 0)
    assert gate_verdict(1, partial, allow_partial=True)[:2] == ("FAILED", 1)


def test_the_gate_on_an_endpoints_file_is_partial_unless_allowed(tmp_path):
    """End to end without Docker: the control contracts skip on endpoints:FILE at once (no connection is made)."""
    import json
    import subprocess
    import sys

    from harness.endpoints import FIELDS
    from tests.conftest import ROOT

    ep = tmp_path / "endpoints.json"
    # a valid file (schema examples; URLs on a closed local port): only the skips are exercised
    ep.write_text(json.dumps({name: "x" if spec.kind == "secret" else "http://127.0.0.1:9" if spec.kind == "url"
                              else spec.example for name, spec in FIELDS.items()}))
    base = [sys.executable, "-m", "harness.cli", "gate", "-f", str(ROOT / "topology.yaml"), "--skip-render-check",
            "--target", f"endpoints:{ep}", "-k", "test_secrets or test_environment", "--report-dir", str(tmp_path / "r")]
    run = subprocess.run(base, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "gate PARTIAL: 5 of 5 contracts skipped" in run.stderr and "gate PARTIAL in" in run.stdout
    report = (tmp_path / "r" / "contracts.md").read_text()
    assert "**PARTIAL: 5 of 5 contracts skipped — 5 because this target gives no control over containers" in report
    assert json.loads((tmp_path / "r" / "contracts.json").read_text())["partial"] is True
    allowed = subprocess.run(base + ["--allow-partial"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "gate PARTIAL (allowed by --allow-partial)" in allowed.stdout


# ---- broken variants on record (contracts/variants.py) --------------------------------------------------------------

def test_variant_records_merge_one_row_per_test_latest_result(tmp_path):
    from contracts import variants

    path = tmp_path / "bv.json"
    a = {"test": "t::a", "area": "outbox", "variant": "v1", "caught": False, "when": "1", "commit": "c1"}
    b = {"test": "t::b", "area": "secrets", "variant": "v2", "caught": True, "when": "1", "commit": "c1"}
    variants.record(path, [a, b])
    variants.record(path, [dict(a, caught=True, when="2", commit="c2")])
    rows = variants.load(path)
    assert [(r["test"], r["caught"], r["when"]) for r in rows] == [("t::a", True, "2"), ("t::b", True, "1")]
    table = variants.table(["outbox", "secrets", "sasl"], rows)
    assert [(r["area"], r["variant"]) for r in table] == [("outbox", "v1"), ("sasl", None), ("secrets", "v2")]
    md = "\n".join(variants.markdown(table))
    assert "| sasl | _no broken variant on record_ |" in md and "| outbox | v1 | ✅ yes | 2 (c2) |" in md
    assert variants.area_of("contracts/test_kafka_acls.py") == variants.area_of("test_kafka_acls.py") == "kafka_acls"


def test_a_marked_test_run_lands_in_the_record_and_the_report(tmp_path):
    """The conftest hook writes the outcome of a `catches` test; the contract report shows it in its table."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    record = tmp_path / "bv.json"
    env = dict(os.environ, TOPO_BROKEN_VARIANTS=str(record))
    node = "tests/test_contract_checks.py::test_a_file_secret_visible_as_a_value_on_compose_is_caught"
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", node],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    rows = json.loads(record.read_text())["variants"]
    assert [(r["test"], r["area"], r["caught"]) for r in rows] == [(node, "secrets", True)]
    assert rows[0]["commit"] and rows[0]["when"].endswith("Z")
    ep = tmp_path / "endpoints.json"
    from harness.endpoints import FIELDS

    ep.write_text(json.dumps({name: "x" if spec.kind == "secret" else "http://127.0.0.1:9" if spec.kind == "url"
                              else spec.example for name, spec in FIELDS.items()}))
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "contracts", "-k", "test_secrets",
                    "--target", f"endpoints:{ep}", "--contract-report", str(tmp_path / "r"),
                    "--broken-variants", str(record)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    md = (tmp_path / "r" / "contracts.md").read_text()
    assert "| secrets | a secret declared as a file is passed as a value on compose (synthetic inspect) | ✅ yes |" in md
    assert "| outbox | _no broken variant on record_ |" in md
    html = (tmp_path / "r" / "contracts.html").read_text()
    assert "a secret declared as a file is passed as a value on compose" in html and "no broken variant on record" in html
    data = json.loads((tmp_path / "r" / "contracts.json").read_text())["broken_variants"]["rows"]
    assert {"area": "secrets", "caught": True}.items() <= next(r for r in data if r["area"] == "secrets").items()


def test_two_variants_of_one_test_in_one_area_keep_two_rows(tmp_path):
    from contracts import variants

    path = tmp_path / "bv.json"
    row = {"test": "t::a", "area": "secrets", "caught": True, "when": "1", "commit": "c1"}
    variants.record(path, [dict(row, variant="undeclared secret"), dict(row, variant="file secret as a value")])
    variants.record(path, [dict(row, variant="undeclared secret", caught=False, when="2")])
    assert sorted((r["variant"], r["caught"]) for r in variants.load(path)) == [
        ("file secret as a value", True), ("undeclared secret", False)]


@pytest.mark.catches("contracts/test_ingest_event.py",
                     variant="a callable that answers 200 to every call (no token, tenant or envelope check)")
def test_a_permissive_callable_fails_the_ingest_contracts():
    """Broken variant: an ingestEvent endpoint (a real HTTP server on loopback) that accepts everything. Each
    refusal contract of contracts/test_ingest_event.py run against it fails; none passes by accident."""
    import json as _json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from types import SimpleNamespace

    from contracts import test_ingest_event as ingest

    class Permissive(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = _json.dumps({"result": {"event_id": "e", "partition": 0, "offset": 0}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Permissive)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        e = SimpleNamespace(functions_url=f"http://127.0.0.1:{server.server_port}", firebase_project="demo-deml")
        user = SimpleNamespace(id_token="any")
        caught = []
        checks = [("no token", lambda: ingest.test_no_token_is_unauthenticated(e)),
                  ("bad token", lambda: ingest.test_bad_token_is_unauthenticated(e)),
                  ("other tenant", lambda: ingest.test_another_tenants_event_is_permission_denied(e, user))]
        checks += [(f"bad envelope: {field}", lambda d=data, f=field:
                    ingest.test_a_bad_envelope_is_invalid_argument_naming_the_field(e, user, d, f))
                   for data, field in [({"payload": {}}, "type"), ({"type": "page.view", "payload": "text"}, "payload")]]
        for name, check in checks:
            with pytest.raises(AssertionError):
                check()
            caught.append(name)
        assert len(caught) == len(checks)
    finally:
        server.shutdown()


@pytest.mark.catches("contracts/test_spot_interruption.py",
                     variant="an interruption that is not AWS's (same container back, a deleted volume declared "
                                 "retained, a service-managed volume that survived; chaos results made up)")
def test_an_interruption_unlike_aws_fails_the_spot_check():
    from contracts.test_spot_interruption import check_replaced_as_the_host_does

    good = {"old_container": "a" * 64, "new_container": "b" * 64, "stopped_in_s": 3.0, "stop_timeout_s": 120,
            "volumes": {"data": (True, True)}, "volume_lifecycle": "retained", "replaced_volumes": []}
    check_replaced_as_the_host_does(None, "redpanda", good)
    broken = [({"new_container": "a" * 64}, "was not replaced by a new task"),
              ({"stopped_in_s": 200.0}, "took 200.0 s to stop"),
              ({"replaced_volumes": ["data"]}, "was replaced although it is declared retained"),
              ({"volume_lifecycle": "service-managed"}, "survived its task"),
              ({"volumes": {}}, "has no volume")]
    for change, message in broken:
        with pytest.raises(AssertionError, match=message):
            check_replaced_as_the_host_does(None, "redpanda", {**good, **change})
