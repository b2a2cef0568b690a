"""railway-emulation: the rendering reproduces Railway's private network, injected variables, restart and draining
rules (facts: docs/research/railway-facts.md); the IPv6-only private network refuses a server bound to 0.0.0.0."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from harness.loader import load
from harness.targets import RUNNABLE, TARGETS, host
from harness.loader import load_text
from harness.targets.railway_emulation import (EDGE, EDGE_HTTP_PORT, EDGE_HTTPS_PORT, FILE, HEALTHCHECK_HOST,
                                               RailwayEmulationTarget, edge_request)

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
    addresses = {s.name: doc["services"][s.name]["networks"]["railway"]["ipv6_address"] for s in topology.services}
    assert len(set(addresses.values())) == len(addresses)
    for name, spec in ((s.name, doc["services"][s.name]) for s in topology.services):
        assert "aliases" not in spec["networks"]["railway"], "an alias would resolve to IPv4 too"
        assert sorted(spec["extra_hosts"]) == sorted(f"{o}.railway.internal:{a}" for o, a in addresses.items())


def test_the_edge_reaches_a_public_service_by_its_ipv6_address_on_an_ipv6_only_network(topology):
    doc = rendered(ipv6_only(topology))
    address = doc["services"]["frontend"]["networks"]["railway"]["ipv6_address"]
    assert doc["services"][EDGE]["environment"]["EDGE_ROUTES"] == f"frontend-production.up.railway.app=[{address}]:4000"


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


# ---- the emulated Railway edge (facts: docs/research/railway-facts.md "Public edge") -----------------------------

def test_only_a_service_public_on_railway_gets_a_generated_domain(topology):
    """RAILWAY_PUBLIC_DOMAIN follows `placement.railway.public: {PORT: http}`, not `publish` (which is the operator's
    127.0.0.1 access): the backend publishes port 8000 locally but has no Railway domain."""
    doc = rendered(topology)
    assert doc["services"]["frontend"]["environment"]["RAILWAY_PUBLIC_DOMAIN"] == "frontend-production.up.railway.app"
    assert topology.service("backend").port("http").publish
    assert "RAILWAY_PUBLIC_DOMAIN" not in doc["services"]["backend"]["environment"]


def test_the_edge_terminates_tls_for_each_domain_hardened_on_127_0_0_1(topology):
    edge = rendered(topology)["services"][EDGE]
    assert edge["image"] == "topo/railway-edge:1"
    assert edge["environment"] == {"EDGE_ROUTES": "frontend-production.up.railway.app=frontend.railway.internal:4000"}
    assert edge["ports"] == [f"127.0.0.1:{EDGE_HTTPS_PORT}:8443", f"127.0.0.1:{EDGE_HTTP_PORT}:8080"]
    assert edge["user"] == "10001:10001" and edge["read_only"] is True and edge["cap_drop"] == ["ALL"]
    assert edge["security_opt"] == ["no-new-privileges:true"] and edge["tmpfs"][0].startswith("/tmp:")
    assert edge["depends_on"] == {"frontend": {"condition": "service_healthy"}}
    assert "volumes" not in edge and "secrets" not in edge  # the certificate is made at start, in the tmpfs


def test_no_edge_without_a_public_service(topology):
    private = dataclasses.replace(topology, services=tuple(
        dataclasses.replace(s, placement={k: v for k, v in s.placement.items() if k != "railway"})
        for s in topology.services))
    doc = rendered(private)
    assert EDGE not in doc["services"]
    assert not [s for s in doc["services"].values() if "RAILWAY_PUBLIC_DOMAIN" in s["environment"]]


def test_the_edge_and_pre_deploy_containers_are_not_services_in_the_parity_view(topology):
    t = load_text(TEST_TOPOLOGY.replace("PRE_DEPLOY", "[python3, -c, 'print(1)']"))[0]
    r = RailwayEmulationTarget().render(t)
    assert set(r.data["compose"]["services"]) == {"web", "web-pre-deploy", "frontend", EDGE}
    assert set(RailwayEmulationTarget().views(r, t)) == {"web", "frontend"}


# ---- pre-deploy (placement.railway.pre_deploy) ---------------------------------------------------------------------

# A test topology (the reference app has no migration step to run before a deploy: topo's bootstrap applies its
# SQL): `web` echoes the request headers it receives as JSON and keeps a volume; its pre-deploy reports whether it
# sees that volume's content. Both run the app image (python3, no shell).
ECHO = """
import http.server, json, os, socket, sys
class Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "headers": dict(self.headers), "env": os.environ.get("RAILWAY_PUBLIC_DOMAIN"),
                           "volume": sorted(os.listdir("/data"))}).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(body)
Server(("::", int(sys.argv[1])), Echo).serve_forever()
"""
PRE_DEPLOY_CHECK = """
import json, os
seen = {"data_exists": os.path.isdir("/data"), "content": sorted(os.listdir("/data")) if os.path.isdir("/data") else None,
        "env": os.environ.get("RAILWAY_SERVICE_NAME")}
try:
    os.makedirs("/data", exist_ok=True); open("/data/from-pre-deploy", "w").write("x"); seen["wrote"] = True
except OSError as exc:
    seen["wrote"] = type(exc).__name__
print("PRE-DEPLOY " + json.dumps(seen), flush=True)
"""
TEST_TOPOLOGY = """
version: 1
project: rwedge
railway: {plan: pro, environment: production}
tenants: [{id: tenant0}]
images:
  app: {ref: "deml/app:0.1.0"}
services:
  web:
    role: app
    image: app
    command: [python3, -c, ECHO, "5000"]
    ports: [{name: http, port: 5000, protocol: http}]
    healthcheck: {http: {path: /healthz, port: http}}
    volumes: [{name: web-data, path: /data, size: 1Gi}]
    placement:
      railway: {public: {http: http}, pre_deploy: PRE_DEPLOY}
  frontend:
    role: app
    image: app
    command: [deml, frontend, --port, "${frontend.port.http}"]
    ports: [{name: http, port: 4000, protocol: http}]
    env:
      BACKEND_URL: http://${web.host}:${web.port.http}
      FIREBASE_PROJECT: demo-topo
      FIRESTORE_EMULATOR_HOST: "firestore.invalid:8080"
    healthcheck: {http: {path: /healthz, port: http}}
    depends_on: [web]
    placement:
      railway: {public: {http: http}}
""".replace("ECHO", json.dumps(ECHO))


def pre_deploy_topology(command: list[str]):
    return load_text(TEST_TOPOLOGY.replace("PRE_DEPLOY", json.dumps(command)))[0]


def test_pre_deploy_is_a_one_off_container_without_the_volume():
    """Railway runs the pre-deploy command in a separate container with the service's variables and private network,
    without its volumes, never retried; the deployment waits for it to succeed (D deployments/pre-deploy-command.md
    :7,9,25)."""
    doc = rendered(pre_deploy_topology(["python3", "-c", "print(1)"]))
    web, pre = doc["services"]["web"], doc["services"]["web-pre-deploy"]
    assert pre["image"] == web["image"] and pre["environment"] == web["environment"]
    assert pre["command"] == ["python3", "-c", "print(1)"]
    assert "volumes" not in pre and "ports" not in pre and "healthcheck" not in pre
    assert pre["networks"] == {"railway": {}}  # on the private network, but not named web.railway.internal
    assert pre["restart"] == "no"
    assert pre["user"] == web["user"] and pre["read_only"] and pre["cap_drop"] == ["ALL"]
    assert web["volumes"] == ["web-data:/data"]
    assert web["depends_on"]["web-pre-deploy"] == {"condition": "service_completed_successfully"}


def test_without_pre_deploy_there_is_no_pre_deploy_container(topology):
    doc = rendered(topology)
    assert not [n for n in doc["services"] if n.endswith("-pre-deploy")]


def test_a_service_named_like_a_pre_deploy_container_is_refused():
    text = TEST_TOPOLOGY.replace("PRE_DEPLOY", "[python3]") + (
        "  web-pre-deploy:\n    role: app\n    image: app\n    command: [python3]\n")
    with pytest.raises(Exception) as bad:
        load_text(text)
    assert "web-pre-deploy" in str(bad.value) and "rename" in str(bad.value)


# ---- live: one small railway-emulation stack per scenario, always torn down -----------------------------------------

def _stack(tmp_root: Path, topology, label: str):
    from harness.runtime.stack import Stack, free_port_offset

    project = f"rwemu-{label}-{uuid.uuid4().hex[:6]}"
    return Stack(topology, tmp_root, project, free_port_offset(topology) or 4100, ephemeral=True,
                 target="railway-emulation")


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=60).stdout


def _inspect(stack, service: str) -> dict:
    """The container of one compose service, running or exited (`compose ps -q` lists running ones only)."""
    cid = _docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={stack.project}",
                  "--filter", f"label=com.docker.compose.service={service}").split()[0]
    return json.loads(_docker("inspect", cid))[0]


@pytest.fixture(scope="module")
def edge_stack(tmp_path_factory):
    stack = _stack(tmp_path_factory.mktemp("railway-edge"), pre_deploy_topology(["python3", "-c", PRE_DEPLOY_CHECK]),
                   "edge")
    try:
        stack.report = stack.up(deadline=180)
        yield stack
    finally:
        stack.down(volumes=True)


DOMAIN = "web-production.up.railway.app"


@pytest.mark.docker
def test_edge_serves_the_domain_over_tls_and_forwards_railways_headers(edge_stack):
    """Through the emulated edge, HTTPS to 127.0.0.1 with the generated domain as SNI and Host: the certificate is
    valid for that name, the service answers 200 and sees X-Forwarded-Proto: https, X-Forwarded-Host, X-Real-IP and
    Railway's request id (D networking/public-networking/specs-and-limits.md:16), as plain HTTP on its own port."""
    import ssl

    status, headers, body = edge_request(edge_stack, DOMAIN, "/hello?x=1")
    assert status == 200, body
    seen = json.loads(body)
    sent = {k.lower(): v for k, v in seen["headers"].items()}
    assert seen["path"] == "/hello?x=1" and seen["env"] == DOMAIN
    assert sent["host"] == DOMAIN and sent["x-forwarded-proto"] == "https" and sent["x-forwarded-host"] == DOMAIN
    assert sent["x-real-ip"] and sent["x-railway-request-id"] and sent["x-request-start"].isdigit()
    assert len(sent["x-request-start"]) == 13  # Unix milliseconds
    assert "x-forwarded-for" not in sent  # not in Railway's documented list
    # the certificate is for *.up.railway.app: another name fails verification
    with pytest.raises(ssl.SSLCertVerificationError):
        edge_request(edge_stack, DOMAIN, "/", sni="web.example.com")
    assert "Railway deploy" in json.dumps(edge_stack.report.host) and DOMAIN in json.dumps(edge_stack.report.host)


@pytest.mark.docker
def test_the_reference_frontend_answers_through_its_domain(edge_stack):
    """The app's own frontend role, public on Railway, answers 200 on /healthz at
    https://frontend-production.up.railway.app through the edge (its backend here is the echo service); the edge's
    access log shows the request (the frontend itself forwards no X-Forwarded-* header to its backend, so the
    headers a service receives are shown by the echo service above)."""
    status, _, body = edge_request(edge_stack, "frontend-production.up.railway.app", "/healthz")
    assert status == 200, body
    log = edge_stack.compose.logs(EDGE, tail=50)
    assert '"GET /healthz HTTP/1.1" 200' in log or '"GET /healthz HTTP/2.0" 200' in log, log
    env = _inspect(edge_stack, "frontend")["Config"]["Env"]
    assert "RAILWAY_PUBLIC_DOMAIN=frontend-production.up.railway.app" in env


@pytest.mark.docker
def test_plain_http_is_redirected_to_https_with_301(edge_stack):
    """Plain HTTP GET → 301 to https; a POST too, which clients then send as GET (specs-and-limits.md:17,37-38)."""
    for method in ("GET", "POST"):
        status, headers, _ = edge_request(edge_stack, DOMAIN, "/a?b=1", tls=False, method=method)
        assert status == 301, method
        assert headers["location"] == f"https://{DOMAIN}/a?b=1"


@pytest.mark.docker
def test_a_domain_no_service_has_is_404_and_never_reaches_a_service(edge_stack):
    """A Host the edge does not route answers 404 (a domain Railway has not verified/routed returns 404:
    D networking/troubleshooting/ssl.md:65) and the request reaches no service."""
    status, _, body = edge_request(edge_stack, DOMAIN, "/", host="other-production.up.railway.app")
    assert status == 404 and b"no service has the domain" in body
    status, _, _ = edge_request(edge_stack, "other-production.up.railway.app", "/")
    assert status == 404


@pytest.mark.docker
def test_the_edge_container_is_hardened_and_published_on_127_0_0_1_only(edge_stack):
    info = _inspect(edge_stack, EDGE)
    host = info["HostConfig"]
    assert info["Config"]["User"] == "10001:10001" and host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"] and "no-new-privileges:true" in host["SecurityOpt"]
    bound = {b["HostIp"] for bindings in host["PortBindings"].values() for b in bindings}
    assert bound == {"127.0.0.1"}
    assert not [m for m in info["Mounts"]], "no certificate or key is mounted into the edge"


@pytest.mark.docker
def test_pre_deploy_runs_first_without_the_volume(edge_stack):
    """The pre-deploy container finished before the service started, has no mount, and on a redeploy does not see
    the data the service's volume holds (D deployments/pre-deploy-command.md:23,25; D volumes.md:113)."""
    pre, web = _inspect(edge_stack, "web-pre-deploy"), _inspect(edge_stack, "web")
    assert pre["State"]["ExitCode"] == 0 and pre["Mounts"] == []
    assert pre["State"]["FinishedAt"] < web["State"]["StartedAt"]
    volume = next(m["Name"] for m in web["Mounts"] if m["Destination"] == "/data")
    _docker("run", "--rm", "-v", f"{volume}:/data", "--entrypoint", "/bin/bash", "topo/base:bookworm", "-c",
            "echo deployed > /data/marker")
    status, _, body = edge_request(edge_stack, DOMAIN, "/")
    assert status == 200 and json.loads(body)["volume"] == ["marker"]  # the service sees its volume
    edge_stack.up(deadline=120)  # a redeploy: the pre-deploy runs again, with the volume now holding data
    lines = [l for l in edge_stack.compose.logs("web-pre-deploy", tail=50).splitlines() if "PRE-DEPLOY " in l]
    assert len(lines) == 2, lines
    seen = json.loads(lines[-1].split("PRE-DEPLOY ", 1)[1])
    assert seen["data_exists"] is False and seen["content"] is None, seen
    assert seen["wrote"] == "OSError" and seen["env"] == "web"  # read-only filesystem; the service's variables


@pytest.mark.docker
def test_a_failing_pre_deploy_keeps_the_service_from_starting(tmp_path):
    """A pre-deploy that exits non-zero fails the deploy, is not retried, and the service never starts
    (D deployments/pre-deploy-command.md:9); `up` says so naming the pre-deploy."""
    from harness.errors import TopoError

    t = pre_deploy_topology(["python3", "-c", "import sys; print('migration failed'); sys.exit(3)"])
    stack = _stack(tmp_path, t, "fail")
    try:
        with pytest.raises(TopoError) as failed:
            stack.up(deadline=90)
        # Railway's wording with the command's own output (Stack.up asks Host.explain_up_failure)
        explained = str(failed.value)
        assert "web-pre-deploy" in explained, explained
        assert "Railway deploy FAILED in pre-deploy" in explained and "exited 3" in explained, explained
        assert "migration failed" in explained and "web was not started" in explained, explained
        assert "services.web.placement.railway.pre_deploy" in explained, explained
        out = _docker("ps", "-a", "--filter", f"label=com.docker.compose.project={stack.project}",
                      "--format", "{{.Label \"com.docker.compose.service\"}} {{.State}}")
        states = dict(line.split() for line in out.splitlines())
        assert states["web-pre-deploy"] == "exited" and states.get("web") in ("created", None), states
        assert EDGE not in states or states[EDGE] == "created", states
    finally:
        stack.down(volumes=True)


@pytest.mark.docker
def test_the_edge_reaches_a_public_service_on_an_ipv6_only_network(tmp_path):
    """On a pre-2025-10-16 (IPv6-only) private network the edge forwards to the service's IPv6 address."""
    t = load_text(TEST_TOPOLOGY.replace("PRE_DEPLOY", "[python3, -c, 'print(1)']").replace(
        "railway: {plan: pro, environment: production}",
        "railway: {plan: pro, environment: production, private_network: ipv6-only}"))[0]
    stack = _stack(tmp_path, t, "v6")
    try:
        stack.up(deadline=180)
        status, _, body = edge_request(stack, DOMAIN, "/v6")
        assert status == 200 and json.loads(body)["headers"]["X-Forwarded-Proto"] == "https", body
    finally:
        stack.down(volumes=True)
