"""railway-emulation: the rendering reproduces Railway's private network, injected variables, restart and draining
rules (facts: docs/research/railway-facts.md); the IPv6-only private network refuses a server bound to 0.0.0.0."""
from __future__ import annotations

import dataclasses
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from harness.loader import load
from harness.targets import RUNNABLE, TARGETS, host
from harness.targets.railway_emulation import FILE, HEALTHCHECK_HOST, RailwayEmulationTarget

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def topology():
    t = load(ROOT / "topology.yaml")
    return t[0] if isinstance(t, tuple) else t


def rendered(t) -> dict:
    return yaml.safe_load(RailwayEmulationTarget().render(t).files[FILE])


def ipv6_only(t):
    return dataclasses.replace(t, railway=dataclasses.replace(t.railway, private_network="ipv6-only"))


def test_registered_as_a_runnable_host():
    assert "railway-emulation" in RUNNABLE and host("railway-emulation") is RailwayEmulationTarget
    assert TARGETS["railway-emulation"].runnable


def test_services_reach_each_other_as_service_railway_internal(topology):
    doc = rendered(topology)
    for s in topology.services:
        spec = doc["services"][s.name]
        assert spec["networks"]["railway"]["aliases"] == [f"{s.name}.railway.internal"]
    env = doc["services"]["backend"]["environment"]
    assert env["REDPANDA_BROKERS"] == "redpanda.railway.internal:9092"
    assert "postgres.railway.internal:5432" in env["DATABASE_URL"]
    # no bare service names left in host-valued variables
    assert "firebase.railway.internal:8080" == env["FIRESTORE_EMULATOR_HOST"]


def test_port_and_railway_variables_are_injected(topology):
    doc = rendered(topology)
    for s in topology.services:
        env = doc["services"][s.name]["environment"]
        assert env["RAILWAY_PRIVATE_DOMAIN"] == f"{s.name}.railway.internal"
        assert env["RAILWAY_SERVICE_NAME"] == s.name
        assert env["RAILWAY_ENVIRONMENT_NAME"] == "production"
        hc = s.healthcheck
        if hc is not None and hc.kind == "http":
            assert env["PORT"] == str(s.port(hc.port).port), f"{s.name}: PORT must be its health-check port"
        else:
            assert "PORT" not in env
    assert doc["services"]["frontend"]["environment"]["RAILWAY_PUBLIC_DOMAIN"].endswith(".up.railway.app")
    assert "RAILWAY_PUBLIC_DOMAIN" not in doc["services"]["workers"]["environment"]


def test_restart_on_failure_ten_times_and_sigkill_after_draining_seconds(topology):
    doc = rendered(topology)
    for s in topology.services:
        spec = doc["services"][s.name]
        assert spec["restart"] == "on-failure:10", s.name  # Railway's default policy (restart-policy.md)
        assert spec["stop_grace_period"] == "0s", s.name  # drainingSeconds defaults to 0 (deployments/reference.md)


def test_declared_restart_and_draining_are_rendered(topology):
    backend = topology.service("backend")
    from harness.model import RailwayPlacement

    placement = dict(backend.placement)

    placement["railway"] = RailwayPlacement(key="services.backend.placement.railway", restart="always",
                                            draining_seconds=30)
    t = dataclasses.replace(topology, services=tuple(dataclasses.replace(s, placement=placement)
                                                     if s.name == "backend" else s for s in topology.services))
    spec = rendered(t)["services"]["backend"]
    assert spec["restart"] == "always" and spec["stop_grace_period"] == "30s"
    assert spec["environment"]["RAILWAY_DEPLOYMENT_DRAINING_SECONDS"] == "30"


def test_secrets_are_sealed_variables_never_values(topology):
    text = RailwayEmulationTarget().render(topology).files[FILE]
    assert "${TOPO_SECRET_POSTGRES_PASSWORD:?" in text
    secrets_env = ROOT / ".topo" / "secrets.env"
    if secrets_env.exists():
        for line in secrets_env.read_text().splitlines():
            value = line.partition("=")[2]
            if len(value) >= 8:
                assert value not in text


def test_ipv6_only_private_network_resolves_names_to_ipv6_only(topology):
    doc = rendered(ipv6_only(topology))
    net = doc["networks"]["railway"]
    assert net["enable_ipv6"] is True
    addresses = {name: spec["networks"]["railway"]["ipv6_address"] for name, spec in doc["services"].items()}
    assert len(set(addresses.values())) == len(addresses)
    for name, spec in doc["services"].items():
        assert "aliases" not in spec["networks"]["railway"], "an alias would resolve to IPv4 too"
        assert sorted(spec["extra_hosts"]) == sorted(f"{o}.railway.internal:{a}" for o, a in addresses.items())


def test_parity_view_drops_injected_variables(topology):
    r = RailwayEmulationTarget().render(topology)
    views = RailwayEmulationTarget().views(r, topology)
    assert not [k for v in views.values() for k in v.env if k == "PORT" or k.startswith("RAILWAY_")]
    assert views["backend"].env["REDPANDA_BROKERS"] == "redpanda.railway.internal:9092"


def test_committed_rendering_matches(topology):
    assert (ROOT / FILE).read_text() == RailwayEmulationTarget().render(topology).files[FILE]


def test_health_gate_host_header_is_railways():
    assert HEALTHCHECK_HOST == "healthcheck.railway.app"


@pytest.mark.docker
def test_ipv6_only_network_refuses_a_server_bound_to_0000_and_serves_one_bound_to_any6(topology):
    """Live: the network and hosts entries exactly as rendered for ipv6-only; a client reaches the server by its
    railway.internal name only when the server listens on [::] (our app roles do; see app/deml/process.py)."""
    doc = rendered(ipv6_only(topology))
    subnet = doc["networks"]["railway"]["ipam"]["config"][0]["subnet"]
    server_ip = doc["services"]["backend"]["networks"]["railway"]["ipv6_address"]
    hosts = [h for h in doc["services"]["frontend"]["extra_hosts"] if h.startswith("backend.")]
    image = doc["services"]["backend"]["image"]
    net = f"topo-test-v6-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "network", "create", "--ipv6", "--subnet", subnet, net], check=True, capture_output=True)
    try:
        results = {}
        for bind in ("0.0.0.0", "::"):
            name = f"{net}-srv"
            family = "AF_INET6" if bind == "::" else "AF_INET"
            server = ("import http.server, socket\n"
                      f"class S(http.server.ThreadingHTTPServer): address_family = socket.{family}\n"
                      f"S(('{bind}', 8000), http.server.SimpleHTTPRequestHandler).serve_forever()\n")
            subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "--network", net, "--ip6", server_ip,
                            "--entrypoint", "python3", image, "-c", server], check=True, capture_output=True)
            try:
                client = ("import time, urllib.request\n"
                          "for _ in range(20):\n"
                          "    try:\n"
                          "        print(urllib.request.urlopen('http://backend.railway.internal:8000/', timeout=3).status); break\n"
                          "    except Exception as e:\n"
                          "        last = e; time.sleep(0.3)\n"
                          "else:\n"
                          "    print(type(last).__name__, last)\n")
                out = subprocess.run(["docker", "run", "--rm", "--network", net, "--add-host", hosts[0], "--entrypoint", "python3", image, "-c",
                    client], capture_output=True, text=True, timeout=60)
                results[bind] = out.stdout.strip() or out.stderr.strip()
            finally:
                subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        assert results["::"] == "200", results
        assert "refused" in results["0.0.0.0"].lower(), results
    finally:
        subprocess.run(["docker", "network", "rm", net], capture_output=True)


def _serve(answer):
    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):  # noqa: N802
            code = answer(self.headers.get("Host", ""), self.path)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _Stack:
    def __init__(self, port):
        self.access = type("A", (), {"host_port": lambda _self, service, name: port})()


@pytest.mark.parametrize("answer, ok", [
    (lambda host, path: 200 if host == HEALTHCHECK_HOST and path == "/healthz" else 418, True),
    # an app that allows only its own hosts refuses Railway's health checker: the deploy fails
    (lambda host, path: 403 if host == HEALTHCHECK_HOST else 200, False),
    (lambda host, path: 301, False),  # a redirect is not 200
])
def test_health_gate_wants_200_for_railways_host_header(topology, answer, ok):
    from harness.targets.railway_emulation import railway_healthcheck

    server = _serve(answer)
    try:
        backend = topology.service("backend")
        outcome = railway_healthcheck(_Stack(server.server_address[1]), backend, backend.port("http"), timeout_s=1)
    finally:
        server.shutdown()
    assert outcome["ok"] is ok, outcome
    if not ok:
        assert "no 200 within 1 s" in outcome["summary"]
