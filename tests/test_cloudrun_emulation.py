"""cloudrun-emulation (harness/targets/cloudrun_emulation.py): the Cloud Run deployment run locally with the same
images. Each rendering rule is a `check_*` function run on the real rendering (it passes) and on a deliberately
broken copy (it must fail), so no check passes vacuously. The docker tests bring up one small stack each (a tiny
HTTP server from the app image: the reference app has no slow endpoint), always torn down."""
from __future__ import annotations

import copy
import functools
import json
import re
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from harness import parity
from harness.errors import RenderError
from harness.loader import load_text
from harness.render import drift
from harness.targets import RUNNABLE, TARGETS, host
from harness.targets.cloudrun import CloudRunTarget, private_host, url_host
from harness.targets.cloudrun_emulation import (FILE, FRONT, STOP_GRACE_SECONDS, CloudRunEmulationTarget,
                                                front_request, holder, revision)

ROOT = Path(__file__).resolve().parent.parent
TOPOLOGY = (ROOT / "topology.yaml").read_text()


@functools.lru_cache(maxsize=None)
def render(text: str = TOPOLOGY):
    topology, _ = load_text(text)
    r = CloudRunEmulationTarget().render(topology)
    return topology, r, yaml.safe_load(r.files[FILE])


def cloud_docs(t) -> dict:
    return CloudRunTarget().render(t).data["cloudrun"]["services"]


def members(t) -> dict[str, str]:
    """container → its instance, per the Cloud Run rendering."""
    return {c["name"]: main for main, d in cloud_docs(t).items() for c in d["spec"]["template"]["spec"]["containers"]}


def broken(doc: dict, edit) -> dict:
    d = copy.deepcopy(doc)
    edit(d)
    return d


def fails(check, *args) -> None:
    with pytest.raises(AssertionError):
        check(*args)


# ---- checks (each run on the real rendering and on a broken copy) ---------------------------------------------------

def check_contract_env(t, doc) -> None:
    """PORT in the ingress container only, equal to the port Cloud Run's rendering names http1; K_* everywhere."""
    for main, d in cloud_docs(t).items():
        containers = d["spec"]["template"]["spec"]["containers"]
        for i, c in enumerate(containers):
            env = doc["services"][c["name"]]["environment"]
            if i == 0:
                assert env.get("PORT") == str(c["ports"][0]["containerPort"]), f"{c['name']}: PORT {env.get('PORT')}"
            else:
                assert "PORT" not in env, f"sidecar {c['name']} got PORT (Cloud Run injects it in the ingress only)"
            assert env.get("K_SERVICE") == main and env.get("K_CONFIGURATION") == main, c["name"]
            assert env.get("K_REVISION") == revision(main), c["name"]


def check_sidecars_share_localhost(t, doc) -> None:
    """Every container of an instance joins the namespace of its holder `<main>-instance` (on the vpc network), which
    no restart of the ingress container takes away; the ingress container starts after its sidecars are healthy."""
    for name, main in members(t).items():
        spec, owner = doc["services"][name], doc["services"][holder(main)]
        assert owner.get("networks") == ["vpc"] and "network_mode" not in owner, main
        assert spec.get("network_mode") == f"service:{holder(main)}", f"{name}: {spec.get('network_mode')}"
        assert "networks" not in spec and "ports" not in spec, name
        assert spec["depends_on"][holder(main)] == {"condition": "service_started"}, name
        if name != main:
            assert doc["services"][main]["depends_on"].get(name) == {"condition": "service_healthy"}, \
                f"{main} does not wait for its sidecar {name}"


def check_stop_after_ten_seconds(t, doc) -> None:
    for name in members(t):
        assert doc["services"][name].get("stop_grace_period") == "10s", name


def check_limits_and_in_memory_root(t, doc) -> None:
    """cpus/mem_limit are the Cloud Run rendering's; a hardened container's writable paths are tmpfs sized to its
    memory limit on a read-only root."""
    for main, d in cloud_docs(t).items():
        for c in d["spec"]["template"]["spec"]["containers"]:
            spec, lim = doc["services"][c["name"]], c["resources"]["limits"]
            cpu = int(lim["cpu"][:-1]) / 1000 if lim["cpu"].endswith("m") else float(lim["cpu"])
            mib = int(lim["memory"][:-2])
            assert float(spec["cpus"]) == cpu and spec["mem_limit"] == f"{mib}m", c["name"]
            if t.service(c["name"]).hardened:
                assert spec["read_only"] is True, c["name"]
                assert spec["tmpfs"] and all(f"size={mib}m," in x for x in spec["tmpfs"]), spec["tmpfs"]


def check_hardened_and_local(t, doc) -> None:
    for name, spec in doc["services"].items():
        for p in spec.get("ports", []):
            assert p.startswith("127.0.0.1:"), f"{name} publishes {p} beyond 127.0.0.1"
        assert "no-new-privileges:true" in spec["security_opt"], name
        s = t.service(name)
        if name == FRONT or name.endswith("-instance") or (s is not None and s.hardened):
            assert spec.get("user") == "10001:10001" and spec.get("read_only") and spec.get("cap_drop") == ["ALL"], name


def check_off_cloud_run_on_the_vpc(t, doc) -> None:
    """Services off Cloud Run are plain containers on the vpc network named as the Cloud Run rendering names them,
    and the instances reach them by those names."""
    inside = members(t)
    off = [s for s in t.services if s.name not in inside]
    assert off
    for s in off:
        spec = doc["services"][s.name]
        assert spec["networks"] == {"vpc": {"aliases": [private_host(t, s)]}}, s.name
        assert "network_mode" not in spec and "cpus" not in spec
    for name in inside:
        env = doc["services"][name]["environment"]
        for value in env.values():
            for s in off:
                assert not re.search(rf"(//|@|^){s.name}[:/]", str(value)), f"{name} names {s.name} by its bare name"


def check_front(t, doc) -> None:
    """The front answers each run.app host on the vpc network and each published ingress port on 127.0.0.1, with the
    service's timeoutSeconds as nginx's proxy_read_timeout (its 504)."""
    front = doc["services"][FRONT]
    conf = front["environment"]["CLOUDRUN_FRONT_CONF"].replace("$$", "$")
    docs = cloud_docs(t)
    assert set(front["networks"]["vpc"]["aliases"]) == {url_host(t, t.service(m)) for m in docs}
    servers = re.findall(r"server \{.*?\n  \}\n", conf, re.S)
    for main, d in docs.items():
        timeout = d["spec"]["template"]["spec"]["timeoutSeconds"]
        port = d["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
        mine = [x for x in servers if f'"{holder(main)}:{port}"' in x]
        assert mine, f"no server of the front reaches {main}:{port}"
        for x in mine:
            assert f"proxy_read_timeout {timeout}s;" in x, f"{main}: not its {timeout} s timeout:\n{x}"
        assert any(f"server_name {url_host(t, t.service(main))};" in x for x in mine), main
        # Google's front exists before any revision: it must not wait for an instance's health, or a service whose
        # health needs another one through the front never starts (frontend -> backend's run.app URL)
        assert front["depends_on"].get(main) == {"condition": "service_started"}, \
            f"the front waits for {main}: {front['depends_on'].get(main)}"
        if t.service(main).port(next(p.name for p in t.service(main).ports if p.port == port)).publish:
            assert any(re.search(rf"listen {port};", x) for x in mine), main
            assert f"127.0.0.1:{port}:{port}" in front["ports"], main
            for own in (main, holder(main)):  # only the front publishes the ingress port
                assert all(not p.endswith(f":{port}") for p in doc["services"][own].get("ports", [])), \
                    f"{own} publishes {main}'s ingress port, bypassing the front"


# ---- the reference topology ----------------------------------------------------------------------------------------

def test_registered_as_a_runnable_host():
    assert "cloudrun-emulation" in RUNNABLE and host("cloudrun-emulation") is CloudRunEmulationTarget
    assert TARGETS["cloudrun-emulation"].runnable


def test_committed_rendering_matches():
    t, r, _ = render()
    assert not drift([r], ROOT), "compose/cloudrun-emulation.yml is stale: topo render cloudrun-emulation"


def test_the_container_runtime_contract_variables_are_injected():
    t, _, doc = render()
    check_contract_env(t, doc)
    assert doc["services"]["frontend"]["environment"]["PORT"] == "4000"
    fails(check_contract_env, t, broken(doc, lambda d: d["services"]["frontend"]["environment"].pop("PORT")))
    fails(check_contract_env, t, broken(doc, lambda d: d["services"]["workers"]["environment"].update(PORT="8081")))
    fails(check_contract_env, t, broken(doc, lambda d: d["services"]["workers"]["environment"].pop("K_REVISION")))


def test_sidecars_share_the_ingress_containers_network_namespace():
    t, _, doc = render()
    check_sidecars_share_localhost(t, doc)
    assert doc["services"]["telemetry-worker"]["network_mode"] == "service:daemon-instance"
    fails(check_sidecars_share_localhost, t, broken(doc, lambda d: (d["services"]["workers"].pop("network_mode"),
                                                                      d["services"]["workers"].update(networks=["vpc"]))))
    # the brief's first form: the ingress container owns the namespace (a restarted daemon strands its sidecars)
    fails(check_sidecars_share_localhost, t, broken(doc, lambda d: d["services"]["workers"].update(
        network_mode="service:daemon")))
    fails(check_sidecars_share_localhost, t, broken(doc, lambda d: d["services"]["daemon"]["depends_on"].pop("workers")))


def test_containers_get_sigkill_ten_seconds_after_sigterm():
    t, _, doc = render()
    assert STOP_GRACE_SECONDS == 10
    check_stop_after_ten_seconds(t, doc)
    fails(check_stop_after_ten_seconds, t, broken(doc, lambda d: d["services"]["daemon"].update(stop_grace_period="0s")))


def test_limits_are_cloud_runs_and_the_writable_paths_are_memory():
    t, _, doc = render()
    check_limits_and_in_memory_root(t, doc)
    assert doc["services"]["daemon"]["cpus"] == "0.84" and doc["services"]["frontend"]["mem_limit"] == "128m"
    fails(check_limits_and_in_memory_root, t, broken(doc, lambda d: d["services"]["frontend"].update(mem_limit="256m")))
    fails(check_limits_and_in_memory_root, t, broken(doc, lambda d: d["services"]["backend"].update(
        tmpfs=["/tmp:uid=10001,gid=10001,mode=1777"])))  # unbounded: not the in-memory filesystem's limit


def test_hardened_and_published_on_127_0_0_1_only():
    t, _, doc = render()
    check_hardened_and_local(t, doc)
    fails(check_hardened_and_local, t, broken(doc, lambda d: d["services"][FRONT]["ports"].append("4001:4001")))
    fails(check_hardened_and_local, t, broken(doc, lambda d: d["services"][FRONT].pop("cap_drop")))


def test_services_off_cloud_run_run_on_the_vpc_under_their_private_names():
    t, _, doc = render()
    check_off_cloud_run_on_the_vpc(t, doc)
    assert doc["services"]["redpanda"]["networks"]["vpc"]["aliases"] == ["redpanda.deml.internal"]
    assert doc["services"]["backend"]["environment"]["REDPANDA_BROKERS"] == "redpanda.deml.internal:9092"
    fails(check_off_cloud_run_on_the_vpc, t, broken(doc, lambda d: d["services"]["postgres"].update(networks=["vpc"])))
    fails(check_off_cloud_run_on_the_vpc, t, broken(doc, lambda d: d["services"]["backend"]["environment"].update(
        DATABASE_URL="postgresql://deml@postgres:5432/deml")))


def test_other_cloud_run_services_are_reached_through_the_front():
    t, _, doc = render()
    env = doc["services"]["frontend"]["environment"]
    assert env["BACKEND_URL"] == f"http://{url_host(t, t.service('backend'))}:80"  # Cloud Run: https://, same host
    assert env["FRONTEND_URL"] == "http://localhost:4000"  # its own instance
    assert doc["services"]["telemetry-worker"]["environment"]["FRONTEND_URL"].startswith("http://frontend-")


def test_the_environment_contract_finds_every_host_port():
    """contracts/test_environment.py probes each host:port of a contract variable from inside the container: every
    one the topology declares must come out of this rendering as host:port (a run.app URL without its port, as Cloud
    Run writes it, would not be probed)."""
    from contracts.test_environment import check_targets_found

    t, _, doc = render()
    for s in (s for s in t.services if s.role == "app"):
        check_targets_found(t, s.name, doc["services"][s.name]["environment"])
    env = dict(doc["services"]["frontend"]["environment"], BACKEND_URL=f"http://{url_host(t, t.service('backend'))}")
    fails(check_targets_found, t, "frontend", env)


def test_the_front_answers_504_at_each_services_timeout():
    text = TOPOLOGY.replace("cloudrun: {ingress: all}", "cloudrun: {ingress: all, timeout_seconds: 7}")
    assert text != TOPOLOGY
    t, _, doc = render(text)
    check_front(t, doc)
    conf = doc["services"][FRONT]["environment"]["CLOUDRUN_FRONT_CONF"]
    assert "proxy_read_timeout 7s;" in conf and "proxy_read_timeout 300s;" in conf  # frontend 7 s, the others 300 s
    fails(check_front, t, broken(doc, lambda d: d[  # the frontend's 7 s replaced by the default
        "services"][FRONT]["environment"].update(CLOUDRUN_FRONT_CONF=conf.replace("proxy_read_timeout 7s;",
                                                                                 "proxy_read_timeout 300s;"))))
    fails(check_front, t, broken(doc, lambda d: d["services"]["frontend-instance"].update(ports=["127.0.0.1:4000:4000"])))
    fails(check_front, t, broken(doc, lambda d: d["services"][FRONT]["networks"]["vpc"]["aliases"].pop()))
    # the rendering the gate found deadlocked: the front waiting for the frontend's health, which needs the backend
    # through the front
    fails(check_front, t, broken(doc, lambda d: d["services"][FRONT]["depends_on"].update(
        frontend={"condition": "service_healthy"})))


def test_a_service_named_like_the_front_is_refused():
    t, _ = load_text(TOPOLOGY)
    import dataclasses

    renamed = dataclasses.replace(t, services=tuple(dataclasses.replace(s, name=FRONT) if s.name == "dragonfly" else s
                                                    for s in t.services))
    with pytest.raises(RenderError, match="rename the service"):
        CloudRunEmulationTarget().render(renamed)


def test_parity_with_aws_emulation_and_cloudrun_has_no_unexplained_difference():
    """`topo parity cloudrun-emulation aws-emulation --static`: every difference is explained (hostnames, declared
    placements, Cloud Run sizes, the contract variables are Cloud Run's own); and against the cloudrun rendering."""
    t, r, _ = render()
    for other in ("aws-emulation", "cloudrun", "compose"):
        o = TARGETS[other]().render(t)
        # a size snapped up is explained from the smaller side: compose's declared sizes first
        rows = parity.compare(t, o, r) if other == "compose" else parity.compare(t, r, o)
        bad = [x for x in rows if x.verdict == "DIFFERENT"]
        assert not bad, f"{other}: " + "; ".join(f"{x.service} {x.aspect}: {x.a} vs {x.b}" for x in bad)
    views = CloudRunEmulationTarget().views(r, t)
    assert "PORT" not in views["frontend"].env and views["redpanda"].managed.startswith("off Cloud Run")
    assert views["frontend"].resources == (1.0, 128) and views["frontend"].ports == {4000}


def test_docker_compose_config_accepts_the_rendering(tmp_path):
    """Compose v2 parses the committed file (no engine needed), with the holders and the front as services."""
    import os

    from tests.test_compose_config import _compose_v2

    if not _compose_v2():
        pytest.skip("Compose v2 not installed here")
    from harness.targets.compose import secret_env_var

    t, _, doc = render()
    env = {**os.environ, **{secret_env_var(s): "dummy-for-config-check" for s in t.secrets}}
    out = subprocess.run(["docker", "compose", "-p", "topo-crconfig", "-f", str(ROOT / FILE), "config", "--format",
                          "yaml"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert out.returncode == 0, out.stderr
    seen = yaml.safe_load(out.stdout)
    assert set(seen["services"]) == ({s.name for s in t.services} | {FRONT}
                                     | {holder(m) for m in cloud_docs(t)})
    assert seen["services"]["frontend"]["network_mode"] == "service:frontend-instance"


# ---- live: one small stack, always torn down -------------------------------------------------------------------------

# A tiny server from the app image (python3, no shell): /healthz, /env (its contract variables), /slow?s=N (answers
# after N seconds), /fetch?url=U (GETs U and says what it got), /fill?mb=N (writes N MiB into /tmp and reports the
# container's memory.current (cgroup v1: memory.usage_in_bytes) before and after); it ignores SIGTERM, so only SIGKILL stops it.
SERVER = """
import http.server, json, os, signal, sys, time, urllib.parse, urllib.request
signal.signal(signal.SIGTERM, signal.SIG_IGN)
def mem():
    for path in ('/sys/fs/cgroup/memory.current', '/sys/fs/cgroup/memory/memory.usage_in_bytes'):  # cgroup v2, v1
        if os.path.exists(path):
            return int(open(path).read())
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlparse(self.path); q = dict(urllib.parse.parse_qsl(u.query)); out = {"path": u.path}
        if u.path == "/env":
            out = {k: os.environ.get(k) for k in ("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION")}
        elif u.path == "/slow":
            time.sleep(float(q.get("s", "5")))
        elif u.path == "/fetch":
            try:
                out = {"status": urllib.request.urlopen(q["url"], timeout=5).status}
            except Exception as exc:
                out = {"error": type(exc).__name__}
        elif u.path == "/fill":
            before = mem(); f = open("/tmp/fill", "wb"); f.write(b"x" * (int(q["mb"]) << 20)); f.close()
            out = {"before": before, "after": mem()}
        body = json.dumps(out).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), H).serve_forever()
"""
LIVE = """
version: 1
project: crlive
cloudrun: {project: crlive, region: us-central1, private_dns: crlive.internal}
tenants: [{id: tenant0}]
images:
  app: {ref: "deml/app:0.1.0"}
services:
  web:
    role: app
    image: app
    command: [python3, -c, SERVER, "5000"]
    ports: [{name: http, port: 5000, protocol: http, publish: true}]
    resources: {cpu: 1, memory: 256Mi}
    healthcheck: {http: {path: /healthz, port: http}}
    placement:
      cloudrun: {ingress: all, timeout_seconds: 2}
  side:
    role: app
    image: app
    command: [python3, -c, SERVER, "5001"]
    ports: [{name: http, port: 5001, protocol: http}]
    healthcheck: {http: {path: /healthz, port: http}}
    placement:
      cloudrun: {sidecar_of: web}
  vm:
    role: app
    image: app
    command: [python3, -c, SERVER, "6000"]
    ports: [{name: tcp, port: 6000, protocol: tcp}]
    healthcheck: {tcp: tcp}
    placement:
      cloudrun: {host: compute-engine}
""".replace("SERVER", json.dumps(SERVER))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    from harness.runtime.stack import Stack, free_port_offset

    t, _ = load_text(LIVE)
    stack = Stack(t, tmp_path_factory.mktemp("cloudrun-live"), f"crlive-{uuid.uuid4().hex[:6]}",
                  free_port_offset(t) or 4100, ephemeral=True, target="cloudrun-emulation")
    try:
        stack.report = stack.up(deadline=180)
        yield stack
    finally:
        stack.down(volumes=True)


def _get(stack, path: str, timeout: float = 30):
    status, _, body = front_request(stack, stack.topology.service("web"), path, timeout)
    return status, body


def _exec_json(stack, service: str, url: str) -> dict:
    cid = stack.compose.container_id(service)
    script = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=30).read().decode())"
    out = subprocess.run(["docker", "exec", cid, "python3", "-c", script, url], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.docker
def test_live_the_instance_answers_through_the_front_with_the_contract_variables(live):
    status, body = _get(live, "/env")
    assert status == 200, body
    assert json.loads(body) == {"PORT": "5000", "K_SERVICE": "web", "K_REVISION": "web-00001-emu",
                                "K_CONFIGURATION": "web"}
    assert "Cloud Run revisions" in json.dumps(live.report.host)


@pytest.mark.docker
def test_live_a_sidecar_reaches_the_ingress_over_localhost_and_the_vm_by_its_private_name(live):
    seen = _exec_json(live, "side", "http://127.0.0.1:5001/fetch?url=http://localhost:5000/healthz")
    assert seen == {"status": 200}, seen
    # the vm (off Cloud Run) answers on the vpc under vm.crlive.internal, not by a bare name from the instance
    assert _exec_json(live, "web", "http://127.0.0.1:5000/fetch?url=http://vm.crlive.internal:6000/healthz") == {"status": 200}
    # the web service's own URL host goes through the front (port 80) from the instance
    assert _exec_json(live, "side", "http://127.0.0.1:5001/fetch?url=http://web-000000000000.us-central1.run.app:80/healthz") \
        == {"status": 200}


@pytest.mark.docker
def test_live_a_request_beyond_timeout_seconds_gets_504(live):
    import time

    t0 = time.monotonic()
    status, _ = _get(live, "/slow?s=5")
    took = time.monotonic() - t0
    assert status == 504 and 1.5 <= took < 4.5, (status, took)
    status, _ = _get(live, "/slow?s=0.5")
    assert status == 200  # within the 2 s timeout


@pytest.mark.docker
def test_live_files_written_count_against_the_memory_limit(live):
    """The writable path is a tmpfs: writing 64 MiB into it raises the container's memory.current by about 64 MiB."""
    seen = _exec_json(live, "web", "http://127.0.0.1:5000/fill?mb=64")
    grew = (seen["after"] - seen["before"]) / 2**20
    assert 60 <= grew <= 80, seen


@pytest.mark.docker
def test_live_a_revision_replacement_kills_at_ten_seconds_and_starts_a_new_instance(live):
    """The server ignores SIGTERM: the stop takes the 10 s grace and ends with SIGKILL (exit 137); both containers of
    the instance are new, and the front reaches the new one."""
    result = live.interrupt("web")
    assert 9.5 <= result["stopped_in_s"] <= 13, result
    assert result["exit_code"] == 137 and result["new_container"] != result["old_container"], result
    assert _get(live, "/healthz")[0] == 200
