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
- Ports the topology publishes stay reachable on 127.0.0.1 as operator access (Railway's TCP proxy or
  `railway connect`), labelled org.topo.access.

Not reproduced (the report and `topo parity` say so): the TLS edge (public HTTP stays plain on 127.0.0.1), per-plan
CPU/memory caps, replicas, cron schedules, pre-deploy containers without volumes.
"""
from __future__ import annotations

import yaml

from harness.errors import TopoError
from harness.model import RailwayPlacement, Service, Topology, resolve
from harness.targets.base import UNREPRESENTABLE, Host, Rendering, View, header
from harness.targets.compose import _escape, compose_views, mounts_and_checks, secret_env_var

FILE = "compose/railway-emulation.yml"
DOMAIN = "railway.internal"
HEALTHCHECK_HOST = "healthcheck.railway.app"  # D deployments/healthchecks.md:56
IPV6_SUBNET = "fd00:7a11:3a7::/64"  # a unique-local prefix for the emulated IPv6-only private network


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

    def after_healthy(self, stack, on_event) -> dict | None:
        """Railway's deploy-time gate: 200 on the health-check path at PORT, Host: healthcheck.railway.app."""
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
        return {"railway": {"title": "Railway deploy", "state": "ACTIVE", "services": results,
                            "summary": f"{len(results)} services answered 200 to Host: {HEALTHCHECK_HOST}; "
                                       f"private network {mode} (*.{DOMAIN})"}}

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
            if any(p.publish and p.protocol in ("http", "https") for p in s.ports):
                injected["RAILWAY_PUBLIC_DOMAIN"] = f"{s.name}-{environment}.up.railway.app"
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
        net: dict = {"labels": {"org.topo.network": "railway-private"}}
        if v6:
            net["enable_ipv6"] = True
            net["ipam"] = {"config": [{"subnet": IPV6_SUBNET}]}
        doc = {"name": project, "services": services, "networks": {"railway": net}}
        if volumes:
            doc["volumes"] = volumes
        out.notes.append(t.problem("railway", "railway-emulation has no TLS edge: public HTTP is plain on 127.0.0.1; "
                                   "per-plan CPU/memory caps, replicas and cron are not applied locally",
                                   "", severity="notice"))
        text = header("railway-emulation") + yaml.safe_dump(doc, sort_keys=False, width=120, default_flow_style=False)
        out.files[self.path] = text
        out.data["compose"] = doc
        return out

    def views(self, r: Rendering, t: Topology) -> dict[str, View]:
        out = compose_views(r)
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
