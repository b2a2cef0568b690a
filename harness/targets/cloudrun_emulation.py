"""CloudRunEmulationTarget: the Cloud Run deployment (harness/targets/cloudrun.py) run locally with the same images.

It renders compose/cloudrun-emulation.yml from the Cloud Run rendering itself (instances, sidecars, sizes, timeouts
and ingress are read from `CloudRunTarget().render(t)`, so both hosts agree by construction). Sources, as in
harness/cloudrun/limits.py: CONTRACT = cloud.google.com/run/docs/container-contract (the container runtime
contract), TIMEOUT = cloud.google.com/run/docs/configuring/request-timeout, SHUTDOWN = the Cloud Run blog "Graceful
shutdowns on Cloud Run: Deep dive" (2020-10-20), INMEM = cloud.google.com/run/docs/configuring/in-memory-volumes;
all read through the stored-page search on 2026-11-28 (read, not run against Cloud Run).

What it reproduces:
- **One instance per Cloud Run service**: its ingress container and its sidecars (`placement.cloudrun.sidecar_of`)
  share one network namespace, so they talk over localhost as on Cloud Run, and a URL naming another container of
  the instance fails. The namespace is owned by a holder container `<service>-instance` (a pause container, as
  aws-emulation's Lightsail pod) that every container joins (`network_mode: service:<service>-instance`), not by
  the ingress container: a restarted or recreated ingress container (a crash under `restart`, a contract's
  `set_env`) would otherwise leave its sidecars in a namespace that no longer exists. It also lets the sidecars
  start first, as `run.googleapis.com/container-dependencies` says: the ingress container waits for each sidecar
  to be healthy (that Cloud Run waits for a dependency's startup probe is inferred, not read).
- **The container runtime contract**: `PORT` in the ingress container only (CONTRACT: "Cloud Run injects the PORT
  environment variable into the ingress container"), set to the port the Cloud Run rendering names `http1`/`h2c`
  (the app's declared port, which Cloud Run then passes in PORT); `K_SERVICE`, `K_REVISION`, `K_CONFIGURATION` in
  every container (CONTRACT, "Environment variables"; the revision name `<service>-00001-emu` follows the
  `<service>-<generation>-<suffix>` form of gcloud's revision names — inferred, the contract's example is
  `hello-world.1`).
- **Shutdown**: SIGTERM, then SIGKILL after 10 s (`stop_grace_period: 10s`; SHUTDOWN: "your application will have
  10 seconds to exit").
- **In-memory filesystem** (CONTRACT "Filesystem access": "an in-memory filesystem, so writing to it uses the
  container instance's memory"): for the images topo hardens, a read-only root plus tmpfs for the writable paths,
  each sized to the container's memory limit; tmpfs pages are charged to the memory cgroup of the container that
  writes them, so writing a file uses the container's memory and can get it OOM-killed (see the docker test).
- **CPU/memory**: the limits the Cloud Run renderer snapped to Cloud Run's table (`cpus`, `mem_limit`).
- **Off Cloud Run** (`placement.cloudrun.host`: cloud-sql, compute-engine, memorystore, firebase), and any service
  the Cloud Run renderer cannot place: plain containers on the "vpc" network under the private DNS names the Cloud
  Run rendering uses (`<service>.<cloudrun.private_dns>`), which the instances reach as they do over Direct VPC
  egress; their published ports stay on 127.0.0.1 as operator access.
- **The front** (`cloudrun-front`: the `topo/railway-edge:1` image — Debian's nginx-light — with its own nginx
  configuration, no TLS): on the vpc network it answers for every Cloud Run service's URL host
  (`<service>-<project number>.<region>.run.app`, port 80), so `http://${svc.host}:${svc.port.X}` of another
  Cloud Run service becomes `http://<url host>:80` (Cloud Run: `https://<url host>`, i.e. port 443); and it
  publishes each Cloud Run service's published ingress port on 127.0.0.1 (a public `ingress: all` service's URL;
  an internal one's as operator access). A request that gets no response within the service's
  `timeout_seconds` is answered **504** (TIMEOUT: "the request ends and an error 504 is returned"; nginx
  `proxy_read_timeout`, which bounds the wait for each read, not the total: a response that keeps streaming is
  not cut at the timeout as Cloud Run would).
- **Startup probe rule** (`after_healthy`): every container with a rendered startupProbe answers its httpGet (from
  inside the instance, as Cloud Run's agent does) within failureThreshold × periodSeconds, and every published
  ingress answers through the front; else the revision would not become Ready and the deploy fails.
- **Interruptions** (`interrupt`): a revision replacement — every container of the instance gets SIGTERM, SIGKILL
  after 10 s, and a new instance (new containers) starts. A service off Cloud Run is restarted with its data kept.
- **Secrets**: Secret Manager references resolved into environment variables at start (from the git-ignored
  .topo/secrets.env), never written here.

Not reproduced (`topo parity` and the rendering's notes say so): scale to zero and autoscaling (min/max instances:
one instance always runs), CPU throttled outside requests (request-based billing: the container keeps its CPU
limit between requests), concurrency limits, TLS and Google's front end (IAM invoker checks, ingress internal vs all: an internal service is reachable from the vpc
network like a public one), the instance termination after 20 sequential 5xx (CONTRACT, older versions), an
in-memory root for images topo does not harden (their root stays on disk), Cloud SQL / Memorystore / Firebase
themselves (the same images stand in for them).
"""
from __future__ import annotations

import json
import re

import yaml

from harness.cloudrun import checks
from harness.errors import RenderError, TopoError
from harness.model import Port, Service, Topology, resolve
from harness.targets.base import APP_UID, UNREPRESENTABLE, Host, Rendering, View, header
from harness.targets.cloudrun import CloudRunTarget, private_host, url_host
from harness.targets.compose import (_escape, compose_views, depends_on, healthcheck, mounts_and_checks,
                                     secret_env_var)
from harness.targets.railway_emulation import EDGE_IMAGE, build_edge_image

FILE = "compose/cloudrun-emulation.yml"
FRONT = "cloudrun-front"  # the compose service of the emulated Google front end
HOLDER_SUFFIX = "-instance"  # `<service>-instance`: the container owning an instance's network namespace
# the holder only owns the namespace; bash (in the front's image) waits for a signal and exits 0 on SIGTERM
HOLDER_COMMAND = ["/bin/bash", "-c", "trap 'exit 0' TERM INT; sleep infinity & wait"]
FRONT_IMAGE = EDGE_IMAGE  # topo/railway-edge:1 (images/edge): nginx-light; the front brings its own nginx.conf
FRONT_VPC_PORT = 80  # service-to-service: http://<service url host> on the vpc network
STOP_GRACE_SECONDS = 10  # SHUTDOWN: SIGTERM, 10 s, SIGKILL
REVISION_SUFFIX = "00001-emu"  # K_REVISION = <service>-00001-emu (form inferred from gcloud's revision names)
CONTRACT_ENV = ("PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION")
OFF_RESTART_SECONDS = 90  # a restart of a service off Cloud Run: the emulation's bound, not a Google figure


def holder(main: str) -> str:
    return main + HOLDER_SUFFIX


def revision(service: str) -> str:
    return f"{service}-{REVISION_SUFFIX}"


def _cpus(text: str) -> float:
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _mib(text: str) -> int:
    return int(text[:-2]) if text.endswith("Mi") else int(text[:-2]) * 1024


class CloudRunEmulationTarget(Host):
    name = "cloudrun-emulation"
    description = ("compose file shaped like the Cloud Run deployment: instances with sidecars on localhost, PORT/K_* "
                   "injected, 10 s shutdown, in-memory root, snapped limits, a front answering 504 at the request "
                   "timeout, hosts off Cloud Run on a vpc network (compose/cloudrun-emulation.yml)")
    file = FILE
    project_suffix = "-cloudrun"
    secret_mechanism = ("every declared secret -> an environment variable at start (Cloud Run resolves Secret Manager "
                        "references, valueFrom.secretKeyRef, into environment variables)")
    interruption = "a Cloud Run revision replacement (SIGTERM to every container of the instance, SIGKILL after 10 s, a new instance)"

    # ---- rendering -----------------------------------------------------------------------------------------------

    @staticmethod
    def instances(t: Topology) -> tuple[dict, Rendering]:
        """{ingress service name: its Cloud Run Service document} as the Cloud Run renderer writes them, and that
        rendering."""
        cloud = CloudRunTarget().render(t)
        return cloud.data["cloudrun"]["services"], cloud

    def render(self, t: Topology) -> Rendering:
        out = Rendering(self.name)
        project = self.project or self.default_project(t)
        docs, cloud = self.instances(t)
        for taken in (FRONT, *(holder(m) for m in docs)):
            if t.service(taken) is not None:
                raise RenderError([t.problem(t.service(taken).key, f"service {taken!r} has the name cloudrun-emulation "
                                             "gives its emulated front end or an instance's holder",
                                             "rename the service")])
        instance_of: dict[str, str] = {}  # container -> its instance (ingress service name)
        for main, doc in docs.items():
            for c in doc["spec"]["template"]["spec"]["containers"]:
                instance_of[c["name"]] = main

        def value_for(s: Service):
            here = instance_of.get(s.name)

            def host(o: Service) -> str:
                if o.name not in instance_of:
                    return private_host(t, o)
                if instance_of[o.name] == here:
                    return "localhost"
                return url_host(t, t.service(instance_of[o.name]))

            def url(m: re.Match) -> str:  # another instance's URL: through the front, as on Cloud Run
                o = t.service(m[1])
                if o is None or o.name not in instance_of or instance_of[o.name] == here:
                    return m[0]
                # the port written out: clients (and the environment contract) read a URL's host:port
                return f"http://{url_host(t, t.service(instance_of[o.name]))}:{FRONT_VPC_PORT}"

            def value(text: str) -> str:
                text = re.sub(r"http://\$\{([a-z][a-z0-9-]*)\.host\}:\$\{\1\.port\.[a-z][a-z0-9-]*\}", url, text)
                return _escape(resolve(t, text, host, self.host_port))
            return value

        services: dict[str, dict] = {}
        volumes: dict[str, dict] = {}
        fronted: list[tuple[Service, dict]] = []  # (ingress service, its Cloud Run document)
        for s in t.services:
            value = value_for(s)
            spec: dict = {"image": s.image.ref}
            if s.command:
                spec["command"] = [value(c) for c in s.command]
            env = {k: value(v) for k, v in s.env}
            for var, secret in s.secrets:  # Secret Manager references become environment variables at start
                env[var] = f"${{{secret_env_var(secret)}:?run topo up --target cloudrun-emulation (it creates .topo/secrets.env)}}"
            main = instance_of.get(s.name)
            labels = {"org.topo.project": t.project, "org.topo.service": s.name, "org.topo.role": s.role}
            if main is None:
                spec.update(self._off(t, s, env, labels, volumes, out))
            else:
                doc = docs[main]
                container = next(c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == s.name)
                if s.name == main:
                    env["PORT"] = str(container["ports"][0]["containerPort"])
                    fronted.append((s, doc))
                env.update({"K_SERVICE": main, "K_REVISION": revision(main), "K_CONFIGURATION": main})
                spec["environment"] = env
                if s.name == main:
                    services[holder(main)] = self._holder(t, main, doc)
                spec.update(self._instance_member(t, s, main, doc, container, labels))
            if "environment" not in spec and env:
                spec["environment"] = env
            services[s.name] = self._ordered(spec)
        if fronted:
            services[FRONT] = self._front(t, fronted)
        doc = {"name": project, "services": services,
               "networks": {"vpc": {"labels": {"org.topo.network": "cloudrun-vpc"}}}}
        if volumes:
            doc["volumes"] = volumes
        out.notes.append(t.problem("cloudrun", "cloudrun-emulation: one instance per service always runs (no scale to "
                                   "zero, no autoscaling), CPU is not throttled between requests, and the front "
                                   "speaks plain HTTP",
                                   "", severity="notice"))
        text = header("cloudrun-emulation") + yaml.safe_dump(doc, sort_keys=False, width=120, default_flow_style=False)
        out.files[self.path] = text
        out.data["compose"] = doc
        out.data["cloudrun"] = cloud.data["cloudrun"]
        return out

    @staticmethod
    def _ordered(spec: dict) -> dict:
        first = ("image", "command", "environment", "network_mode", "networks", "ports")
        return {**{k: spec[k] for k in first if k in spec}, **{k: v for k, v in spec.items() if k not in first}}

    def _holder(self, t: Topology, main: str, doc: dict) -> dict:
        """The container owning the instance's network namespace (on the vpc network: Direct VPC egress); the front
        reaches the ingress port through it. A sidecar's published port is operator access here (Cloud Run has
        none); the ingress port is published by the front."""
        spec: dict = {"image": FRONT_IMAGE.ref, "entrypoint": list(HOLDER_COMMAND), "networks": ["vpc"]}
        sidecars = [c["name"] for c in doc["spec"]["template"]["spec"]["containers"][1:]]
        ports = [f"127.0.0.1:{self.host_port(p)}:{p.port}" for n in sidecars for p in t.service(n).ports if p.publish]
        if ports:
            spec["ports"] = ports
        spec.update({"user": f"{APP_UID}:{APP_UID}", "read_only": True, "cap_drop": ["ALL"],
                     "security_opt": ["no-new-privileges:true"], "stop_grace_period": f"{STOP_GRACE_SECONDS}s",
                     "labels": {"org.topo.project": t.project, "org.topo.cloudrun.instance": main,
                                "org.topo.cloudrun.revision": revision(main), "org.topo.cloudrun.container": "holder",
                                **({"org.topo.access": "operator"} if ports else {})},
                     "restart": "unless-stopped"})
        return spec

    def _instance_member(self, t: Topology, s: Service, main: str, doc: dict, container: dict, labels: dict) -> dict:
        """One container of a Cloud Run instance: in the instance's network namespace, its snapped limits, the
        in-memory root, 10 s to stop; the ingress container starts after its sidecars (container-dependencies)."""
        limits = container["resources"]["limits"]
        cpus, mib = _cpus(limits["cpu"]), _mib(limits["memory"])
        spec: dict = {"network_mode": f"service:{holder(main)}"}  # the instance's localhost
        spec["cpus"] = f"{cpus:g}"
        spec["mem_limit"] = f"{mib}m"
        spec.update(self._in_memory_root(s, mib))
        hc = healthcheck(s)
        if hc:
            spec["healthcheck"] = hc
        deps = {holder(main): {"condition": "service_started"}, **(depends_on(t, s) if s.depends_on else {})}
        ann = doc["spec"]["template"]["metadata"]["annotations"]
        for d in json.loads(ann.get("run.googleapis.com/container-dependencies", "{}")).get(s.name, []):
            deps[d] = {"condition": "service_healthy" if t.service(d).healthcheck else "service_started"}
        if deps:
            spec["depends_on"] = deps
        spec["stop_grace_period"] = f"{STOP_GRACE_SECONDS}s"
        spec["labels"] = {**labels, "org.topo.cloudrun.instance": main, "org.topo.cloudrun.revision": revision(main),
                          "org.topo.cloudrun.container": "ingress" if s.name == main else "sidecar"}
        spec["restart"] = "unless-stopped"
        return spec

    @staticmethod
    def _in_memory_root(s: Service, mib: int) -> dict:
        """Cloud Run's filesystem is in memory and counts against the container's memory (CONTRACT): a read-only root
        and tmpfs writable paths, each as large as the memory limit (its pages are charged to the container's memory
        cgroup, so the limit holds for files and processes together)."""
        spec: dict = {}
        if s.hardened:
            spec["user"] = f"{APP_UID}:{APP_UID}"
            spec["read_only"] = True
            spec["tmpfs"] = [f"{path}:size={mib}m,uid={APP_UID},gid={APP_UID},mode=1777" for path in s.tmpfs]
            spec["cap_drop"] = ["ALL"]
        spec["security_opt"] = ["no-new-privileges:true"]
        return spec

    def _off(self, t: Topology, s: Service, env: dict, labels: dict, volumes: dict, out: Rendering) -> dict:
        """A service off Cloud Run (or one the Cloud Run renderer cannot place): a plain container on the vpc network,
        named as the Cloud Run rendering names it."""
        spec: dict = {}
        if env:
            spec["environment"] = env
        spec["networks"] = {"vpc": {"aliases": [private_host(t, s)]}}
        operator = [f"127.0.0.1:{self.host_port(p)}:{p.port}" for p in s.ports if p.publish]
        if operator:
            spec["ports"] = operator
        spec.update(mounts_and_checks(t, s, volumes))
        host = checks.placement(s).host
        spec["labels"] = {**labels, "org.topo.cloudrun.host": host or "none",
                          "org.topo.cloudrun.private_dns": private_host(t, s),
                          **({"org.topo.access": "operator"} if operator else {})}
        spec["restart"] = "unless-stopped"
        if not host:
            out.notes.append(t.problem(s.key, f"{s.name} cannot run on Cloud Run as written (see the cloudrun target's "
                                       "findings): cloudrun-emulation runs it as a plain container on the vpc network "
                                       f"at {private_host(t, s)}", "place it: placement.cloudrun.host",
                                       severity="notice"))  # the cloudrun target reports the finding itself
        return spec

    def _front(self, t: Topology, fronted: list[tuple[Service, dict]]) -> dict:
        """The emulated Google front end: the run.app URL hosts on the vpc network (port 80), each published ingress
        port on 127.0.0.1, and a 504 when the service does not answer within its timeout_seconds."""
        listen: dict[int, Service] = {}
        for s, doc in fronted:
            port = ingress(s, doc)
            if port.publish:
                if port.port in listen or port.port == FRONT_VPC_PORT:
                    other = listen[port.port].name if port.port in listen else "the front's own port 80"
                    raise RenderError([t.problem(port.key, f"{s.name} and {other} would both be published on port "
                                                 f"{port.port} by the cloudrun-emulation front",
                                                 "give one of them another port")])
                listen[port.port] = s
        conf = front_conf(t, fronted, listen)
        ports = [f"127.0.0.1:{self.host_port(ingress(s, _doc_of(fronted, s)))}:{n}" for n, s in listen.items()]
        public = [s.name for s, d in fronted if d["metadata"]["annotations"]["run.googleapis.com/ingress"] == "all"]
        spec: dict = {
            "image": FRONT_IMAGE.ref,
            # the edge image's entrypoint makes Railway's TLS edge; the front writes its own nginx.conf instead
            "entrypoint": ["/bin/bash", "-c", 'mkdir -p /tmp/front/tmp && printf "%s" "$$CLOUDRUN_FRONT_CONF" '
                           '> /tmp/front/nginx.conf && exec nginx -e stderr -c /tmp/front/nginx.conf -g "daemon off;"'],
            "environment": {"CLOUDRUN_FRONT_CONF": _escape(conf)},
            "networks": {"vpc": {"aliases": [url_host(t, s) for s, _ in fronted]}},
        }
        if ports:
            spec["ports"] = ports
        spec.update({
            "user": f"{APP_UID}:{APP_UID}", "read_only": True,
            "tmpfs": [f"/tmp:uid={APP_UID},gid={APP_UID},mode=1777"],
            "cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"],
            # port 80 without a capability: unprivileged ports start at 0 in the container's network namespace
            "sysctls": {"net.ipv4.ip_unprivileged_port_start": 0},
            "healthcheck": {"test": ["CMD", "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{FRONT_VPC_PORT}"],
                            "interval": "2s", "timeout": "3s", "retries": 30},
            # Google's front end exists before any revision and does not wait for one: it starts with the
            # instances (their aliases must exist; the upstream is resolved per request). Waiting for them to be
            # healthy deadlocked a service whose health needs another one through its run.app URL (frontend ->
            # backend: found by `topo gate --target cloudrun-emulation`). Until an instance listens, 502.
            "depends_on": {s.name: {"condition": "service_started"} for s, _ in fronted},
            "stop_grace_period": f"{STOP_GRACE_SECONDS}s",
            "labels": {"org.topo.project": t.project, "org.topo.cloudrun.front": "emulated",
                       "org.topo.cloudrun.public": ",".join(public),
                       **({"org.topo.access": "public"} if ports else {})},
            "restart": "unless-stopped",
        })
        return spec

    # ---- run policy --------------------------------------------------------------------------------------------

    def before_up(self, stack, on_event) -> dict | None:
        """Build the front's image (images/edge, shared with railway-emulation) when missing or its recipe changed."""
        if self.instances(stack.topology)[0]:
            build_edge_image(stack, on_event, FRONT)
        return None

    def after_healthy(self, stack, on_event) -> dict | None:
        """Cloud Run's startup probe rule: each container's httpGet answers within failureThreshold × periodSeconds,
        from inside its instance; then each published ingress answers through the front. Else the revision would
        not become Ready: the bring-up fails."""
        docs, _ = self.instances(stack.topology)
        if not docs:
            return None
        results, failed = {}, []
        for main, doc in docs.items():
            for c in doc["spec"]["template"]["spec"]["containers"]:
                probe = c.get("startupProbe")
                if not probe:
                    continue
                budget = probe["failureThreshold"] * probe["periodSeconds"]
                outcome = startup_probe(stack, main, probe["httpGet"]["port"], probe["httpGet"]["path"], budget)
                results[c["name"]] = outcome
                on_event(c["name"], "ready" if outcome["ok"] else "FAILED", f"Cloud Run startup probe: {outcome['summary']}")
                if not outcome["ok"]:
                    failed.append(f"{c['name']}: {outcome['summary']}")
        if failed:
            raise TopoError("the Cloud Run revision would not become Ready (startup probe):\n  " + "\n  ".join(failed)
                            + "\n  hint: `topo logs SERVICE --target cloudrun-emulation`")
        urls = []
        for main, doc in docs.items():
            s = stack.topology.service(main)
            port = ingress(s, doc)
            if not port.publish:
                continue
            path = s.healthcheck.path if s.healthcheck is not None and s.healthcheck.kind == "http" else "/"
            try:
                status = front_request(stack, s, path, port=port)[0]
            except OSError as exc:
                raise TopoError(f"the emulated Cloud Run front does not answer for {main} on 127.0.0.1:"
                                f"{self.host_port(port)}: {type(exc).__name__}: {exc}\n"
                                f"  hint: `docker compose -p {stack.project} logs {FRONT}`")
            urls.append(f"{main}: http://127.0.0.1:{self.host_port(port)} ({url_host(stack.topology, s)}; "
                        f"GET {path}: {status})")
            on_event(FRONT, "ready", urls[-1])
        return {"cloudrun": {"title": "Cloud Run revisions", "state": "Ready", "services": results, "urls": urls,
                             "summary": f"{len(docs)} revisions Ready ({', '.join(revision(m) for m in docs)})"
                                        + (f"; through the front: {', '.join(urls)}" if urls else "")}}

    def interrupt(self, stack, service: str, on_event=lambda *a: None) -> dict:
        """A Cloud Run service: a revision replacement of its whole instance (SIGTERM, SIGKILL after 10 s, new
        containers). A service off Cloud Run: a restart with its data kept."""
        from harness.runtime.chaos import replace

        docs, _ = self.instances(stack.topology)
        main = next((m for m, d in docs.items()
                     if service in [c["name"] for c in d["spec"]["template"]["spec"]["containers"]]), None)
        if stack.topology.service(service) is None:
            raise TopoError(f"unknown service '{service}'")
        if main is None:
            return replace(stack, service, OFF_RESTART_SECONDS, "kept (a disk or managed storage outlives a restart)",
                           "a restart off Cloud Run: SIGTERM, then SIGKILL after {t} s", on_event)
        return replace_instance(stack, main, [*(c["name"] for c in docs[main]["spec"]["template"]["spec"]["containers"]),
                                              holder(main)], service, on_event)

    def views(self, r: Rendering, t: Topology) -> dict[str, View]:
        """compose views with Cloud Run's facts: the contract variables are Cloud Run's, not the topology's; a
        container of an instance has the Cloud Run rendering's sizes and only the ingress port is a Cloud Run port;
        a service off Cloud Run is a stand-in for what the placement names."""
        names = {s.name for s in t.services}
        out = {n: v for n, v in compose_views(r).items() if n in names}
        services = r.data["compose"]["services"]
        off = r.data["cloudrun"]["off_cloud_run"]
        for name, view in out.items():
            spec = services[name]
            for k in CONTRACT_ENV:
                view.env.pop(k, None)
            if name in off:
                view.managed = f"off Cloud Run: {off[name]['host']} at {off[name]['address']} (a local container)"
                continue
            if "cpus" in spec:
                view.resources = (float(spec["cpus"]), int(str(spec["mem_limit"]).rstrip("m")))
            view.ports = ({p.port for p in t.service(name).ports if p.port == int(spec["environment"]["PORT"])}
                          if "PORT" in spec.get("environment", {}) else
                          UNREPRESENTABLE if "network_mode" in spec else view.ports)
        return out


def _doc_of(fronted: list, s: Service) -> dict:
    return next(d for x, d in fronted if x is s)


def _ingress_port(doc: dict) -> int:
    return doc["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]


def ingress(s: Service, doc: dict) -> Port:
    """The service's port the Cloud Run rendering made its ingress port (the one PORT names)."""
    return next(p for p in s.ports if p.port == _ingress_port(doc))


def front_conf(t: Topology, fronted: list[tuple[Service, dict]], listen: dict[int, Service]) -> str:
    """nginx.conf of the front: one server per run.app URL host on port 80 (vpc), one per published ingress port;
    each proxies to the ingress container with the service's request timeout (504 when it expires)."""
    def location(s: Service, doc: dict) -> str:
        timeout = doc["spec"]["template"]["spec"]["timeoutSeconds"]
        return (f"    location / {{\n"
                f"      set $instance \"{holder(s.name)}:{_ingress_port(doc)}\";   # resolved per request: a new revision, a new address\n"
                f"      proxy_pass http://$instance;\n"
                f"      proxy_http_version 1.1;\n"
                f"      proxy_set_header Host $host;\n"
                f"      proxy_set_header Connection \"\";\n"
                f"      proxy_set_header X-Forwarded-Proto https;\n"
                f"      proxy_send_timeout {timeout}s;\n"
                f"      proxy_read_timeout {timeout}s;   # timeoutSeconds: no response in time -> 504\n"
                f"    }}\n")

    blocks = [f"  server {{   # http://{url_host(t, s)} (vpc) -> {s.name}, timeout {d['spec']['template']['spec']['timeoutSeconds']} s\n"
              f"    listen {FRONT_VPC_PORT};\n    server_name {url_host(t, s)};\n" + location(s, d) + "  }\n"
              for s, d in fronted]
    blocks += [f"  server {{   # 127.0.0.1:{n} -> {s.name}\n    listen {n};\n" + location(s, _doc_of(fronted, s)) + "  }\n"
               for n, s in listen.items()]
    return ("# the emulated Cloud Run front end (cloudrun-emulation), written at render time\n"
            "worker_processes 1;\npid /tmp/front/nginx.pid;\nerror_log stderr warn;\n"
            "events { worker_connections 1024; }\nhttp {\n"
            "  access_log /dev/stdout;\n  server_tokens off;\n  client_max_body_size 0;\n"
            "  client_body_temp_path /tmp/front/tmp/body;\n  proxy_temp_path /tmp/front/tmp/proxy;\n"
            "  fastcgi_temp_path /tmp/front/tmp/fastcgi;\n  uwsgi_temp_path /tmp/front/tmp/uwsgi;\n"
            "  scgi_temp_path /tmp/front/tmp/scgi;\n"
            "  resolver 127.0.0.11 valid=5s;   # Docker's embedded DNS\n"
            f"  server {{   # any other Host on the vpc port: no Cloud Run service has it\n"
            f"    listen {FRONT_VPC_PORT} default_server;\n    default_type text/plain;\n"
            "    return 404 \"the emulated Cloud Run front: no service has the host $host\\n\";\n  }\n"
            + "".join(blocks)
            + "}\n")


def startup_probe(stack, main: str, port: int, path: str, budget_s: int) -> dict:
    """GET path on the container's port from inside the instance (its network namespace) until 2xx/3xx or the budget
    (failureThreshold × periodSeconds) is spent."""
    import time

    from harness.runtime.docker import run

    script = ("import sys, urllib.error, urllib.request\n"
              "try:\n    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)\n"
              "except urllib.error.HTTPError as e:\n    print(e.code)\n"
              "except Exception as e:\n    print(type(e).__name__)\n")
    started = time.monotonic()
    seen: list[str] = []
    while True:
        answer = run(["docker", "exec", stack.compose.container_id(main), "python3", "-c", script,
                      f"http://127.0.0.1:{port}{path}"], check=False, timeout=30)
        lines = (answer.stdout or answer.stderr or "").strip().splitlines()
        seen.append(lines[-1] if lines else "no answer")
        waited = time.monotonic() - started
        if seen[-1].isdigit() and 200 <= int(seen[-1]) < 400:
            return {"ok": True, "summary": f"GET {path} on {port} -> {seen[-1]} after {waited:.1f} s", "seen": seen[-5:]}
        if waited > budget_s:
            return {"ok": False, "summary": f"GET {path} on {port}: no 2xx/3xx within {budget_s} s (last answers: "
                                            f"{', '.join(seen[-5:])})", "seen": seen[-5:]}
        time.sleep(1.0)  # the probe's period is the rule being emulated; 1 s is finer than any rendered period


def front_request(stack, service: Service, path: str = "/", timeout: float = 30, port: Port | None = None
                  ) -> tuple[int, dict, bytes]:
    """One request through the front to a Cloud Run service's published ingress port on 127.0.0.1 (by default its
    first published HTTP port)."""
    import http.client

    port = port or next(p for p in service.ports if p.publish and p.protocol in ("http", "h2c", "grpc"))
    conn = http.client.HTTPConnection("127.0.0.1", stack.host.host_port(port), timeout=timeout)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        conn.close()


def replace_instance(stack, main: str, members: list[str], asked: str, on_event=lambda *a: None) -> dict:
    """A revision replacement: every container of the instance gets SIGTERM and SIGKILL after 10 s, and new
    containers (a new instance) start; the same fields as harness.runtime.chaos.replace returns."""
    import time

    from harness.runtime.docker import run

    old = stack.compose.container_id(asked)
    t0 = time.monotonic()
    on_event(main, "interrupting", f"revision replacement of {', '.join(members)}: SIGTERM, SIGKILL after "
                                   f"{STOP_GRACE_SECONDS} s")
    # every container of the instance at once (`compose stop` stops them one after another: 10 s each)
    ids = [stack.compose.container_id(m) for m in members]
    run(["docker", "stop", "--time", str(STOP_GRACE_SECONDS), *ids[:-1]], timeout=60)
    run(["docker", "stop", "--time", str(STOP_GRACE_SECONDS), ids[-1]], timeout=60)  # the holder (namespace) last
    stopped = time.monotonic() - t0
    exit_code = int(run(["docker", "inspect", "-f", "{{.State.ExitCode}}", old], check=False).stdout.strip() or -1)
    stack.compose("rm", "--force", "--stop", *members)
    stack.compose("up", "--detach", "--no-deps", *reversed(members))
    waited = max(stack.wait_healthy(m, deadline=180) for m in members if stack.topology.service(m) is not None)
    result = {"service": asked, "instance": main, "stopped_in_s": round(stopped, 1), "replaced_volumes": [],
              "volume_lifecycle": "none (Cloud Run instances have no volumes)",
              "back_in_s": round(time.monotonic() - t0, 1), "healthy_after_s": round(waited, 1),
              "stop_timeout_s": STOP_GRACE_SECONDS, "exit_code": exit_code, "old_container": old,
              "new_container": stack.compose.container_id(asked), "volumes": {}}
    on_event(main, "replaced", f"new instance healthy {result['back_in_s']} s after the interruption")
    return result


