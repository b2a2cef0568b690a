"""RailwayEmulationTarget: a compose file shaped like one Railway project environment, run locally with the same images.

What it reproduces (facts and sources: docs/research/railway-facts.md; D = railwayapp/docs @ c2a634f1):
- **Private network.** Every service is reached as `<service>.railway.internal` on one project network, on the
  port it listens on — no port mapping (D networking/private-networking.md:32). Environments created before
  2025-10-16 resolve those names to IPv6 only (D networking/private-networking/how-it-works.md:35): with
  `railway.private_network: ipv6-only` the names are written into each container's hosts file with the service's
  IPv6 address only, so a server bound to 0.0.0.0 is refused, as it is there.
- **Injected variables.** `PORT` (the port Railway health-checks; D deployments/healthchecks.md:24) for a service
  with an HTTP health check, and the `RAILWAY_*` variables of D variables/reference.md (private domain, service,
  project and environment names, public domain for a public service, draining seconds).
- **Deploy-time health gate.** After every container answers topo's probes, each service with an HTTP health check
  must answer **200** on its path at `PORT`, with `Host: healthcheck.railway.app`, within its
  `healthcheck_timeout_seconds` (default 300 s); otherwise the deploy fails (D deployments/healthchecks.md:10,40,56;
  that the hostname is sent as the Host header is inferred).
- **Redeploy and restarts.** `docker stop` sends SIGTERM then SIGKILL after `draining_seconds` (Railway's default
  0 s; D deployments/reference.md:137); restart policy ON_FAILURE with at most `restart_max_retries` restarts
  (default 10), ALWAYS, or NEVER (D deployments/restart-policy.md).
- **Secrets** are sealed variables: environment variables at runtime, interpolated from the git-ignored
  .topo/secrets.env at `up` — never written here.
- **The public edge** (`railway-edge`, image `topo/railway-edge:1` built from images/edge: Debian's nginx-light — the
  emulated Railway edge, not a stand-in for any image a topology runs). A service with `placement.railway.public:
  {PORT: http}` gets the generated domain `<service>-<environment>.up.railway.app` (RAILWAY_PUBLIC_DOMAIN; form: D
  variables/reference.md:36, D integrations/stripe.md:93). The edge terminates TLS 1.2/1.3 (HTTP/1.1 and HTTP/2)
  for every such domain with a certificate for `*.up.railway.app` (ECDSA, like Railway's: D
  networking/public-networking/specs-and-limits.md:44; the name of Railway's default certificate: D
  networking/troubleshooting/ssl.md:213) made at start by a throwaway CA in the container's tmpfs — never in the
  image or the repository — and forwards plain HTTP to PORT on the private network with X-Forwarded-Proto: https,
  X-Forwarded-Host, X-Real-IP, X-Request-Start (Unix ms) and X-Railway-Request-Id (specs-and-limits.md:16). Plain
  HTTP answers 301 to https (a POST too, which clients resend as GET: :17, :37-38); a Host no service has answers
  404 (D networking/troubleshooting/ssl.md:65). Its 443 and 80 are 127.0.0.1:8443 and :8088 (shifted like every
  port of an ephemeral stack); it runs as uid 10001, read-only, without capabilities, and starts once the public
  services are healthy. `edge_request()` makes a request as a browser of the domain would (SNI, verified name).
- **Pre-deploy** (`placement.railway.pre_deploy`): a one-off container `<service>-pre-deploy` of the same image with
  the service's variables and private network, but no volume, no port, no alias and no restart; the service starts
  only once it exited 0 (`service_completed_successfully`), so a failing pre-deploy keeps it from starting and
  `explain_up_failure` says so with the command's output (D deployments/pre-deploy-command.md:7,9,25; D
  volumes.md:113). It runs again on every `up`, as Railway runs it on every deploy.
- Ports the topology publishes stay reachable on 127.0.0.1 as operator access (Railway's TCP proxy or
  `railway connect`), labelled org.topo.access.

Not reproduced (the report and `topo parity` say so): per-plan CPU/memory caps, replicas, cron schedules; of the
edge, the CDN/WAF, its rate and connection limits (10,000 connections, ~11,000 RPS per domain: specs-and-limits.md
:25-27; configured: 60 s HTTP/1.1 keep-alive, 10,000 requests per connection, 5 min body upload and idle
read; nginx's header buffers (4 × 32 KB) only approximate the 32 KB combined header limit), the X-Railway-Edge POP name (it says
`emulated-local`), the 72 h certificate issuance and Let's Encrypt trust, custom domains and target-port choice;
the TCP proxy (those ports are plain 127.0.0.1 publishes).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from harness.errors import RenderError, TopoError
from harness.model import Image, RailwayPlacement, Service, Topology, resolve
from harness.targets.base import APP_UID, UNREPRESENTABLE, Host, Rendering, View, header
from harness.targets.compose import _escape, compose_views, depends_on, hardening, mounts_and_checks, secret_env_var

FILE = "compose/railway-emulation.yml"
DOMAIN = "railway.internal"
HEALTHCHECK_HOST = "healthcheck.railway.app"  # D deployments/healthchecks.md:56
IPV6_SUBNET = "fd00:7a11:3a7::/64"  # a unique-local prefix for the emulated IPv6-only private network
PUBLIC_SUFFIX = "up.railway.app"  # D variables/reference.md:36 (`example.up.railway.app`)

# The emulated Railway edge (images/edge): one container for every public domain, as Railway's edge is one for all.
EDGE = "railway-edge"  # its compose service name
EDGE_IMAGE = Image(name="railway-edge", ref="topo/railway-edge:1", build="images/edge", standin="",
                   key="railway-emulation.edge")
EDGE_HTTPS_PORT = 8443  # 127.0.0.1 port (shifted by an ephemeral stack's offset) standing for the edge's 443
EDGE_HTTP_PORT = 8088  # ... and for its port 80 (which answers 301 to https)
EDGE_CONTAINER_PORTS = {EDGE_HTTPS_PORT: 8443, EDGE_HTTP_PORT: 8080}  # unprivileged: the edge has no capabilities
PRE_DEPLOY_SUFFIX = "-pre-deploy"  # `<service>-pre-deploy`: the one-off container of placement.railway.pre_deploy


def private_domain(service: Service) -> str:
    return f"{service.name}.{DOMAIN}"


def _placement(service: Service) -> RailwayPlacement:
    """`placement.railway`, or Railway's defaults when the topology declares none."""
    return service.placement.get("railway") or RailwayPlacement(key=f"{service.key}.placement.railway")


def _http_port(service: Service):
    """The port Railway would health-check and inject as PORT: the service's HTTP health-check port."""
    hc = service.healthcheck
    if hc is not None and hc.kind == "http" and hc.port:
        return service.port(hc.port)
    return None


def _restart(service: Service) -> str:
    p = _placement(service)
    return {"always": "always", "never": "no"}.get(p.restart, f"on-failure:{p.restart_max_retries}")


def _draining(service: Service) -> int:
    value = _placement(service).draining_seconds
    return 0 if value is None else int(value)  # None: Railway's default, 0 s


def _healthcheck_timeout(service: Service) -> int:
    return int(_placement(service).healthcheck_timeout_seconds)


def _ipv6_only(t: Topology) -> bool:
    return t.railway.private_network == "ipv6-only"


def public_port(service: Service):
    """The port Railway's generated domain forwards to (`placement.railway.public: {PORT: http}`), or None.
    One generated domain per service (D cli/domain.md:154): the first such port."""
    return next((service.port(n) for n, mode in _placement(service).public.items()
                 if mode == "http" and service.port(n) is not None), None)


def public_domain(t: Topology, service: Service) -> str:
    """`<service>-<environment>.up.railway.app`, the form of Railway's generated domains (D integrations/stripe.md:93:
    `my-app-production.up.railway.app`; Railway may add a suffix when the name is taken)."""
    return f"{service.name}-{t.railway.environment or 'production'}.{PUBLIC_SUFFIX}"


def pre_deploy_name(service: Service) -> str:
    return service.name + PRE_DEPLOY_SUFFIX


def build_edge_image(stack, on_event, who: str) -> None:
    """Build topo/railway-edge (images/edge; also cloudrun-emulation's front) when missing or its recipe changed
    (the context-hash label); our own recipe, like images/app, never pulled."""
    from harness.runtime import images

    folder = next((r for r in (stack.root, Path(__file__).resolve().parents[2])
                   if (r / EDGE_IMAGE.build / "Dockerfile").is_file()), stack.root)
    result = images.build_ours(EDGE_IMAGE, folder, lambda line: None)
    on_event(who, "ready" if result == "up to date" else "done", f"image {EDGE_IMAGE.ref}: {result}")


class RailwayEmulationTarget(Host):
    name = "railway-emulation"
    description = ("compose file shaped like a Railway project: <service>.railway.internal names, PORT and RAILWAY_* "
                   "variables, Railway's health gate and restart policy, with the same images (compose/railway-emulation.yml)")
    file = FILE
    project_suffix = "-railway"
    secret_mechanism = "every declared secret → a sealed variable, i.e. an environment variable at runtime"

    # ---- run policy --------------------------------------------------------------------------------------------

    interruption = "a Railway redeploy (SIGTERM, SIGKILL after drainingSeconds, the volume kept)"

    def interrupt(self, stack, service: str, on_event=lambda *a: None) -> dict:
        from harness.runtime.chaos import redeploy

        return redeploy(stack, service, _draining(stack.topology.service(service)), on_event)

    def before_up(self, stack, on_event) -> dict | None:
        """Build the emulated edge's image (images/edge) when a service is public and the image is missing or its
        recipe changed (the context-hash label); our own recipe, like images/app, never pulled."""
        if any(public_port(s) is not None for s in stack.topology.services):
            build_edge_image(stack, on_event, EDGE)
        return None

    def explain_up_failure(self, stack, exc: BaseException) -> BaseException:
        """`docker compose up` failed: when a pre-deploy container exited non-zero, say it as Railway would — the
        deploy failed, the command is not retried and the service was not started (D deployments/pre-deploy-command.md
        :9) — with the command's last output. Anything else is returned unchanged."""
        from harness.runtime.docker import run

        failed = []
        for s in (s for s in stack.topology.services if _placement(s).pre_deploy):
            name = pre_deploy_name(s)
            out = run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={stack.project}",
                       "--filter", f"label=com.docker.compose.service={name}"], check=False, timeout=30).stdout.split()
            if not out:
                continue
            code = run(["docker", "inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", out[0]],
                       check=False, timeout=30).stdout.split()
            if len(code) == 2 and code[0] == "exited" and code[1] != "0":
                logs = "\n    ".join(stack.compose.logs(name, tail=10).splitlines()[-10:]) or "(no output)"
                failed.append(f"{s.name}: its pre-deploy command ({' '.join(_placement(s).pre_deploy)[:120]}) exited "
                              f"{code[1]}; it is not retried and {s.name} was not started. Last output of {name}:\n"
                              f"    {logs}")
        if not failed:
            return exc
        return TopoError("the Railway deploy FAILED in pre-deploy:\n  " + "\n  ".join(failed)
                         + f"\n  hint: fix the command in {_placement(stack.topology.service(failed[0].split(':')[0])).key}"
                           ".pre_deploy, or run it by hand: "
                           f"`docker compose -p {stack.project} logs {failed[0].split(':')[0]}{PRE_DEPLOY_SUFFIX}`")

    def after_healthy(self, stack, on_event) -> dict | None:
        """Railway's deploy-time gate: 200 on the health-check path at PORT, Host: healthcheck.railway.app. Then
        each generated domain must answer through the emulated edge over HTTPS."""
        results = {}
        failed = []
        for s in stack.topology.services:
            port = _http_port(s)
            if port is None:
                continue
            outcome = railway_healthcheck(stack, s, port, _healthcheck_timeout(s))
            results[s.name] = outcome
            on_event(s.name, "ready" if outcome["ok"] else "FAILED", f"Railway health gate: {outcome['summary']}")
            if not outcome["ok"]:
                failed.append(f"{s.name}: {outcome['summary']}")
        if failed:
            raise TopoError("the Railway deploy would FAIL its health gate (200 within the timeout, Host: "
                            f"{HEALTHCHECK_HOST}):\n  " + "\n  ".join(failed)
                            + "\n  hint: `topo logs SERVICE --target railway-emulation`")
        mode = "IPv6 only" if _ipv6_only(stack.topology) else "IPv4 and IPv6"
        domains = []
        for s in (s for s in stack.topology.services if public_port(s) is not None):
            path = s.healthcheck.path if s.healthcheck is not None and s.healthcheck.kind == "http" else "/"
            try:
                status = edge_request(stack, public_domain(stack.topology, s), path)[0]
            except OSError as exc:
                raise TopoError(f"the emulated Railway edge does not answer for {public_domain(stack.topology, s)}: "
                                f"{type(exc).__name__}: {exc}\n  hint: `docker compose -p {stack.project} logs {EDGE}`")
            domains.append(f"https://{public_domain(stack.topology, s)} → 127.0.0.1:"
                           f"{EDGE_HTTPS_PORT + self.port_offset} (GET {path}: {status})")
            on_event(EDGE, "ready", domains[-1])
        return {"railway": {"title": "Railway deploy", "state": "ACTIVE", "services": results, "domains": domains,
                            "summary": f"{len(results)} services answered 200 to Host: {HEALTHCHECK_HOST}; "
                                       f"private network {mode} (*.{DOMAIN})"
                                       + (f"; public: {', '.join(domains)}" if domains else "")}}

    # ---- rendering -----------------------------------------------------------------------------------------------

    def render(self, t: Topology) -> Rendering:
        out = Rendering(self.name)
        project = self.project or self.default_project(t)
        railway_project = t.railway.project or t.project
        environment = t.railway.environment or "production"
        v6 = _ipv6_only(t)
        addresses = {s.name: f"{IPV6_SUBNET.split('::')[0]}::{i + 10:x}" for i, s in enumerate(t.services)}
        services: dict[str, dict] = {}
        volumes: dict[str, dict] = {}
        for s in t.services:
            host = lambda o: private_domain(o)  # noqa: E731
            spec: dict = {"image": s.image.ref}
            if s.command:
                spec["command"] = [_escape(resolve(t, c, host, self.host_port)) for c in s.command]
            env = {k: _escape(resolve(t, v, host, self.host_port)) for k, v in s.env}
            for var, secret in s.secrets:  # sealed variables reach the container as environment variables
                env[var] = f"${{{secret_env_var(secret)}:?run topo up --target railway-emulation (it creates .topo/secrets.env)}}"
            port = _http_port(s)
            injected = {"RAILWAY_PRIVATE_DOMAIN": private_domain(s), "RAILWAY_SERVICE_NAME": s.name,
                        "RAILWAY_PROJECT_NAME": railway_project, "RAILWAY_ENVIRONMENT_NAME": environment,
                        "RAILWAY_ENVIRONMENT": environment,
                        "RAILWAY_DEPLOYMENT_DRAINING_SECONDS": str(_draining(s))}
            if port is not None:
                injected["PORT"] = str(port.port)
            if public_port(s) is not None:  # a generated domain, served by the edge below
                injected["RAILWAY_PUBLIC_DOMAIN"] = public_domain(t, s)
            for k, v in injected.items():
                env.setdefault(k, v)  # a value the topology sets wins, as a service variable does on Railway
            spec["environment"] = env
            network: dict = {}
            if v6:
                network["ipv6_address"] = addresses[s.name]
                spec["extra_hosts"] = [f"{private_domain(o)}:{addresses[o.name]}" for o in t.services]
            else:
                network["aliases"] = [private_domain(s)]
            spec["networks"] = {"railway": network}
            operator = [f"127.0.0.1:{self.host_port(p)}:{p.port}" for p in s.ports if p.publish]
            if operator:
                spec["ports"] = operator
            spec.update(mounts_and_checks(t, s, volumes))
            spec["stop_grace_period"] = f"{_draining(s)}s"
            spec["labels"] = {"org.topo.project": t.project, "org.topo.service": s.name, "org.topo.role": s.role,
                              "org.topo.railway.private_domain": private_domain(s),
                              **({"org.topo.access": "operator"} if operator else {})}
            spec["restart"] = _restart(s)
            services[s.name] = spec
            if _placement(s).pre_deploy:
                services[pre_deploy_name(s)] = self._pre_deploy(t, s, spec, host)
                spec["depends_on"] = {**spec.get("depends_on", {}),
                                      pre_deploy_name(s): {"condition": "service_completed_successfully"}}
        public = [s for s in t.services if public_port(s) is not None]
        if public:
            clash = [n for n in (EDGE, *(pre_deploy_name(s) for s in t.services if _placement(s).pre_deploy))
                     if t.service(n) is not None]
            if clash:
                raise RenderError(f"{t.file}: service {clash[0]!r} has the name railway-emulation gives its "
                                  "emulated edge or a pre-deploy container; rename the service")
            services[EDGE] = self._edge(t, public, addresses if v6 else None)
        net: dict = {"labels": {"org.topo.network": "railway-private"}}
        if v6:
            net["enable_ipv6"] = True
            net["ipam"] = {"config": [{"subnet": IPV6_SUBNET}]}
        doc = {"name": project, "services": services, "networks": {"railway": net}}
        if volumes:
            doc["volumes"] = volumes
        out.notes.append(t.problem("railway", "railway-emulation: per-plan CPU/memory caps, replicas and cron are not "
                                   "applied locally; the edge's certificate is self-signed (made at start)",
                                   "", severity="notice"))
        text = header("railway-emulation") + yaml.safe_dump(doc, sort_keys=False, width=120, default_flow_style=False)
        out.files[self.path] = text
        out.data["compose"] = doc
        return out

    def _pre_deploy(self, t: Topology, s: Service, spec: dict, host) -> dict:
        """The pre-deploy command as a one-off container of the same image, with the service's variables and private
        network but no volume, no port and no health check; run once, never retried (D deployments/pre-deploy-command.md
        :7,9,25; D volumes.md:113)."""
        one: dict = {"image": spec["image"],
                     "command": [_escape(resolve(t, c, host, self.host_port)) for c in _placement(s).pre_deploy],
                     "environment": dict(spec["environment"])}
        if "extra_hosts" in spec:
            one["extra_hosts"] = list(spec["extra_hosts"])
        one["networks"] = {"railway": {}}  # no alias: <service>.railway.internal is the service, not its pre-deploy
        one.update(hardening(s))
        if s.depends_on:
            one["depends_on"] = depends_on(t, s)
        one["labels"] = {"org.topo.project": t.project, "org.topo.railway.pre_deploy_of": s.name}
        one["restart"] = "no"
        return one

    def _edge(self, t: Topology, public: list[Service], addresses: dict | None) -> dict:
        """The emulated Railway edge: TLS for every generated domain, plain HTTP to the service's port on the private
        network, Railway's request headers, 301 from http to https, 404 for a domain no service has."""
        def upstream(s: Service) -> str:
            where = f"[{addresses[s.name]}]" if addresses else private_domain(s)  # IPv6-only: the service's address
            return f"{where}:{public_port(s).port}"

        spec: dict = {"image": EDGE_IMAGE.ref,
                      "environment": {"EDGE_ROUTES": ",".join(f"{public_domain(t, s)}={upstream(s)}" for s in public)},
                      "networks": {"railway": {}},
                      "ports": [f"127.0.0.1:{EDGE_HTTPS_PORT + self.port_offset}:{EDGE_CONTAINER_PORTS[EDGE_HTTPS_PORT]}",
                                f"127.0.0.1:{EDGE_HTTP_PORT + self.port_offset}:{EDGE_CONTAINER_PORTS[EDGE_HTTP_PORT]}"],
                      "user": f"{APP_UID}:{APP_UID}", "read_only": True,
                      "tmpfs": [f"/tmp:uid={APP_UID},gid={APP_UID},mode=1777"],
                      "cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"],
                      "healthcheck": {"test": ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8443"],
                                      "interval": "2s", "timeout": "3s", "retries": 30},
                      # Railway routes a domain to a deployment once it is healthy (D deployments/healthchecks.md:10)
                      "depends_on": {s.name: {"condition": "service_healthy" if s.healthcheck else "service_started"}
                                     for s in public},
                      "labels": {"org.topo.project": t.project, "org.topo.railway.edge": "emulated",
                                 "org.topo.railway.domains": ",".join(public_domain(t, s) for s in public)},
                      "restart": "unless-stopped"}
        return spec

    def views(self, r: Rendering, t: Topology) -> dict[str, View]:
        names = {s.name for s in t.services}
        out = {n: v for n, v in compose_views(r).items() if n in names}  # not the edge nor pre-deploy containers
        for name, view in out.items():
            for k in [k for k in view.env if k == "PORT" or k.startswith("RAILWAY_")]:
                view.env.pop(k)  # injected by Railway itself, not the topology's environment
            view.ports = {p.port for p in t.service(name).ports}  # every port is reachable on the private network
            view.resources = UNREPRESENTABLE  # Railway sizes by plan, not per container request
        return out


def railway_healthcheck(stack, service: Service, port, timeout_s: int) -> dict:
    """GET the health-check path at PORT with Host: healthcheck.railway.app until 200 or the timeout. Railway checks
    the container itself: through the operator port when the topology publishes it, else from inside the
    container (our images carry python3)."""
    import time

    import requests

    from harness.runtime.docker import run

    path = service.healthcheck.path or "/"
    host_port = stack.access.host_port(service, port.name)
    script = ("import sys, urllib.error, urllib.request\n"
              "req = urllib.request.Request(sys.argv[1], headers={'Host': sys.argv[2]})\n"
              "try:\n    print(urllib.request.urlopen(req, timeout=5).status)\n"
              "except urllib.error.HTTPError as e:\n    print(e.code)\n"
              "except Exception as e:\n    print(type(e).__name__)\n")

    def ask() -> str:
        if host_port:
            try:
                return str(requests.get(f"http://127.0.0.1:{host_port}{path}", headers={"Host": HEALTHCHECK_HOST},
                                        timeout=5, allow_redirects=False).status_code)
            except requests.RequestException as exc:
                return type(exc).__name__
        answer = run(["docker", "exec", stack.compose.container_id(service.name), "python3", "-c", script,
                      f"http://127.0.0.1:{port.port}{path}", HEALTHCHECK_HOST], check=False, timeout=30)
        lines = (answer.stdout or answer.stderr or "").strip().splitlines()
        return lines[-1] if lines else "no answer"

    started = time.monotonic()
    seen: list[str] = []
    while True:
        seen.append(ask())
        waited = time.monotonic() - started
        if seen[-1] == "200":
            return {"ok": True, "summary": f"GET {path} on PORT {port.port} → 200 after {waited:.1f} s", "seen": seen[-5:]}
        if waited > timeout_s:
            return {"ok": False, "summary": f"GET {path} on PORT {port.port}: no 200 within {timeout_s} s "
                                            f"(last answers: {', '.join(seen[-5:])})", "seen": seen[-5:]}
        time.sleep(1.0)


def edge_ca(stack) -> str:
    """The PEM of the CA the emulated edge made at start (public; its key was deleted)."""
    from harness.runtime.docker import run

    return run(["docker", "exec", stack.compose.container_id(EDGE), "cat", "/tmp/edge/certs/ca.pem"], timeout=30).stdout


def edge_request(stack, domain: str, path: str = "/", *, tls: bool = True, host: str | None = None,
                 method: str = "GET", sni: str | None = None) -> tuple[int, dict, bytes]:
    """One request to the emulated edge as a browser of `domain` would send it: TLS to 127.0.0.1 with `domain` as
    SNI, the certificate verified against the edge's CA for that name, `Host: domain` (or `host`). tls=False: plain
    HTTP to the edge's port 80 stand-in. Returns (status, headers, body)."""
    import http.client
    import ssl

    offset = stack.host.port_offset
    if tls:
        ctx = ssl.create_default_context(cadata=edge_ca(stack))
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2

        class Connection(http.client.HTTPConnection):  # TCP to 127.0.0.1, TLS with the domain as SNI and name
            def connect(self):
                super().connect()
                self.sock = ctx.wrap_socket(self.sock, server_hostname=sni or domain)

        conn = Connection("127.0.0.1", EDGE_HTTPS_PORT + offset, timeout=10)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", EDGE_HTTP_PORT + offset, timeout=10)
    try:
        conn.request(method, path, headers={"Host": host or domain})
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()
