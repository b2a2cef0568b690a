"""AwsEmulationTarget: a compose file shaped like the AWS deployment, run locally with the same images.

- The Lightsail service is ONE pod: a small container owns the network namespace (as a Lightsail node does) and
  every Lightsail container joins it (`network_mode: service:POD`), so they reach each other on localhost — and
  a URL naming another container fails, as on AWS. All of them sit in one parent cgroup that the runtime sizes to
  the service's power (CPU and memory shared by the group, as on a Lightsail node).
- Exactly one public endpoint is published (the Lightsail public endpoint); the harness applies Lightsail's
  health-check rule to it and reports the deployment ACTIVE or FAILED.
- Fargate tasks get their snapped CPU/memory as hard limits and Service Connect names (`name.namespace`) as
  network aliases on the VPC network; the Lightsail pod joins that network only with `vpc_peering: true`.
- Postgres answers under an RDS-shaped endpoint name; services outside AWS under their declared host.
- Secrets reach containers as plain environment variables at start (Secrets Manager `valueFrom` on ECS and
  Lightsail's environment both do that), interpolated from the git-ignored .topo/secrets.env — never written here.
- Data-plane ports the topology publishes stay reachable on 127.0.0.1 as operator access (a bastion/VPN on AWS),
  labelled org.topo.access=operator; app containers on Lightsail have no published port but the public one.
"""
from __future__ import annotations

import yaml

from harness.model import Topology, resolve
from harness.targets.aws import fargate_size, host_for
from harness.errors import TopoError
from harness.targets.base import APP_UID, UNREPRESENTABLE, Host, Rendering, View, header
from harness.targets.compose import _escape, compose_views, depends_on, hardening, healthcheck, secret_env_var

FILE = "compose/aws-emulation.yml"
# what the Lightsail pod's holder container runs (it only owns the pod's network namespace, like a pause
# container): the app image is distroless — no sleep, no shell — so the image's own python waits for a signal
POD_HOLDER = ["python3", "-c", "import signal; signal.pause()"]


def pod_name(topology: Topology) -> str:
    return topology.aws.lightsail.service


def cgroup_parent(project: str) -> str:
    """The parent cgroup of the Lightsail group; the runtime creates it with the power's limits."""
    return f"/topo-{project}-lightsail"


class AwsEmulationTarget(Host):
    name = "aws-emulation"
    description = "compose file shaped like Lightsail + Fargate + RDS, with the same images (compose/aws-emulation.yml)"
    placement_key = "aws"
    file = FILE
    project_suffix = "-aws"

    secret_mechanism = "every declared secret → an environment variable injected at start (Lightsail environment, ECS valueFrom)"

    # ---- run policy --------------------------------------------------------------------------------------------

    @staticmethod
    def is_public(t: Topology, service, port) -> bool:
        ls = t.aws.lightsail
        return bool(ls) and ls.public_container == service.name and ls.public_port == port.name

    def published(self, t: Topology, service, port) -> bool:
        """A Lightsail container is reachable only through the service's one public endpoint."""
        if not port.publish and not self.is_public(t, service, port):
            return False
        placement = service.placement.get("aws")
        if placement is not None and placement.kind == "lightsail":
            return self.is_public(t, service, port)
        return True

    def lightsail_cgroup(self, stack) -> str:
        return cgroup_parent(stack.project) if stack.topology.aws.lightsail else ""

    def before_up(self, stack, on_event) -> dict | None:
        """Size the Lightsail group's parent cgroup to the power's vCPU and memory."""
        from harness.aws.limits import LIGHTSAIL_POWERS
        from harness.runtime import cgroups

        if not self.lightsail_cgroup(stack):
            return None
        ls = stack.topology.aws.lightsail
        power = LIGHTSAIL_POWERS[ls.power]
        sized = cgroups.ensure(self.lightsail_cgroup(stack), power.vcpu, power.memory_mib)
        on_event("lightsail", "sized", f"cgroup {sized['cgroup']}: {sized['vcpu']:g} vCPU, {sized['memory_mib']} MiB "
                                       f"shared by the Lightsail containers (power {ls.power})")
        return {"lightsail": {**sized, "title": "Lightsail power",
                              "summary": f"shared through cgroup {sized['cgroup']}: {sized['vcpu']:g} vCPU, "
                                         f"{sized['memory_mib']} MiB"}}

    def after_healthy(self, stack, on_event) -> dict | None:
        """Lightsail's deploy-time health check on the public endpoint: the deployment is ACTIVE or FAILED."""
        ls = stack.topology.aws.lightsail
        if not ls:
            return None
        deployment = lightsail_deployment(stack)
        on_event("lightsail", deployment["state"], deployment["summary"])
        if deployment["state"] != "ACTIVE":
            raise TopoError(f"the Lightsail deployment is FAILED: {deployment['summary']}\n"
                            f"  hint: `topo logs {ls.public_container} --target aws-emulation`")
        return {"deployment": {**deployment, "title": "Lightsail deployment"}}

    def after_down(self, stack) -> None:
        from harness.runtime import cgroups

        if self.lightsail_cgroup(stack):
            cgroups.remove(self.lightsail_cgroup(stack))

    def session_facts(self, stack) -> dict:
        """The Lightsail group's peak memory against its power (the cgroup shared by the pod's containers)."""
        from harness.aws.limits import LIGHTSAIL_POWERS
        from harness.runtime import cgroups

        if not self.lightsail_cgroup(stack):
            return {}
        power = LIGHTSAIL_POWERS[stack.topology.aws.lightsail.power]
        peak = cgroups.peak_memory_mib(self.lightsail_cgroup(stack))
        return {"lightsail_power": power.name, "lightsail_power_mib": power.memory_mib,
                "lightsail_peak_mib": round(peak, 1) if peak is not None else None,
                "lightsail_peak_ratio": round(peak / power.memory_mib, 3) if peak is not None else None}

    def views(self, r: Rendering, t: Topology) -> dict[str, View]:
        out = compose_views(r)
        services = r.data["compose"]["services"]
        for s in t.services:
            spec, view = services.get(s.name, {}), out.get(s.name)
            if view is None:
                continue
            kind = s.placement["aws"].kind if "aws" in s.placement else ""
            if kind == "lightsail":
                view.resources = UNREPRESENTABLE  # the group shares the power's cgroup; no per-container size
                view.ports = {p.port for p in s.ports}  # reachable on localhost inside the pod
            elif "cpus" in spec:
                view.resources = (float(spec["cpus"]), int(str(spec["mem_limit"]).rstrip("m")))
            if kind in ("fargate", "rds", "external"):
                view.ports = {p.port for p in s.ports}
            if kind in ("rds", "external"):
                view.resources = UNREPRESENTABLE  # sized by the RDS instance class / outside AWS
        return out

    # ---- rendering -----------------------------------------------------------------------------------------------

    def render(self, t: Topology) -> Rendering:
        out = Rendering(self.name)
        project = self.project or self.default_project(t)
        ls = t.aws.lightsail
        group = t.group("lightsail")
        services: dict[str, dict] = {}
        volumes: dict[str, dict] = {}
        parent = cgroup_parent(project)
        pod = pod_name(t) if ls and group else ""
        if pod:
            public = t.service(ls.public_container)
            port = public.port(ls.public_port)
            services[pod] = {
                "image": public.image.ref, "entrypoint": ["/usr/bin/tini", "--", *POD_HOLDER],
                "networks": ["lightsail"] + (["vpc"] if ls.vpc_peering else []),
                "ports": [f"127.0.0.1:{self.host_port(port)}:{port.port}"],
                "user": f"{APP_UID}:{APP_UID}", "read_only": True, "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges:true"], "cgroup_parent": parent,
                "labels": {"org.topo.project": t.project, "org.topo.role": "lightsail-pod",
                           "org.topo.lightsail.power": ls.power, "org.topo.access": "public"},
                "restart": "unless-stopped",
            }
        for s in t.services:
            placement = s.placement.get("aws")
            kind = placement.kind if placement else ""
            host = lambda o, s=s: host_for(t, s, o)  # noqa: E731
            spec: dict = {"image": s.image.ref}
            if s.command:
                spec["command"] = [_escape(resolve(t, c, host, self.host_port)) for c in s.command]
            env = {k: _escape(resolve(t, v, host, self.host_port)) for k, v in s.env}
            for var, secret in s.secrets:  # injected at start, as ECS valueFrom / Lightsail env would
                env[var] = f"${{{secret_env_var(secret)}:?run topo up --target aws-emulation (it creates .topo/secrets.env)}}"
            if env:
                spec["environment"] = env
            if kind == "lightsail":
                spec["network_mode"] = f"service:{pod}"
                spec["cgroup_parent"] = parent
                spec["depends_on"] = {pod: {"condition": "service_started"}}
            else:
                aliases = []
                if kind == "fargate":
                    aliases = [f"{s.name}.{t.aws.namespace}"]
                elif kind == "rds":
                    aliases = [host_for(t, s, s)]
                elif kind == "external" and placement.host:
                    aliases = [placement.host]
                spec["networks"] = {"vpc": {"aliases": aliases}} if aliases else ["vpc"]
                operator = [f"127.0.0.1:{self.host_port(p)}:{p.port}" for p in s.ports if p.publish]
                if operator:
                    spec["ports"] = operator
                    spec.setdefault("labels", {})["org.topo.access"] = "operator"
                if kind == "fargate":
                    cpu, mem, _ = fargate_size(s)
                    spec["cpus"] = f"{cpu / 1024:g}"
                    spec["mem_limit"] = f"{mem}m"
                    spec["stop_grace_period"] = f"{placement.stop_timeout_seconds}s"
            if s.volumes:
                if kind == "lightsail":
                    pass  # a validation error already; nothing to mount on Lightsail
                else:
                    spec["volumes"] = [f"{v.name}:{v.path}" for v in s.volumes]
                    for v in s.volumes:
                        volumes[v.name] = {"labels": {"org.topo.project": t.project,
                                                      "org.topo.volume_lifecycle": placement.volume_lifecycle
                                                      if placement else "local"}}
            spec.update(hardening(s))
            hc = healthcheck(s)
            if hc:
                spec["healthcheck"] = hc
            if s.depends_on:
                spec.setdefault("depends_on", {}).update(depends_on(t, s))
            labels = spec.setdefault("labels", {})
            labels.update({"org.topo.project": t.project, "org.topo.service": s.name, "org.topo.role": s.role,
                           "org.topo.placement": kind or "none"})
            spec["restart"] = "unless-stopped"
            services[s.name] = spec
            if not placement:
                out.notes.append(t.problem(s.key, f"{s.name} has no placement.aws: it runs on the VPC network as-is",
                                           "add placement: {aws: ...}", severity="warning"))
        doc = {"name": project, "services": services,
               "networks": {"lightsail": {"labels": {"org.topo.network": "lightsail-service"}},
                            "vpc": {"labels": {"org.topo.network": "default-vpc"}}}}
        if volumes:
            doc["volumes"] = volumes
        if pod:
            out.notes.append(t.problem("aws.lightsail.power", f"the Lightsail containers share one cgroup "
                                       f"({parent}) sized by `topo up --target aws-emulation` to the power '{ls.power}'",
                                       "", severity="notice"))
        text = header("aws-emulation") + yaml.safe_dump(doc, sort_keys=False, width=120, default_flow_style=False)
        out.files[self.path] = text
        out.data["compose"] = doc
        return out


def lightsail_deployment(stack) -> dict:
    """Apply Lightsail's health-check rule to the public endpoint (path, interval, timeout, thresholds, success
    codes) and report the deployment ACTIVE or FAILED, as Lightsail would."""
    import time

    import requests

    ls = stack.topology.aws.lightsail
    hc = ls.health_check
    public = stack.topology.service(ls.public_container)
    url = f"http://127.0.0.1:{stack.access.host_port(public, ls.public_port)}{hc.path}"
    ranges = [tuple(int(x) for x in part.split("-")) if "-" in part else (int(part), int(part))
              for part in hc.success_codes.split(",")]
    checks: list[str] = []
    ok = bad = 0
    while True:
        try:
            code = requests.get(url, timeout=hc.timeout_seconds).status_code
            good = any(lo <= code <= hi for lo, hi in ranges)
            checks.append(f"{code}")
        except requests.RequestException as exc:
            good = False
            checks.append(type(exc).__name__)
        ok, bad = (ok + 1, 0) if good else (0, bad + 1)
        if ok >= hc.healthy_threshold or bad >= hc.unhealthy_threshold:
            state = "ACTIVE" if ok >= hc.healthy_threshold else "FAILED"
            return {"state": state, "url": url, "checks": checks,
                    "summary": f"GET {hc.path} every {hc.interval_seconds} s: {', '.join(checks)} "
                               f"(healthy after {hc.healthy_threshold}, unhealthy after {hc.unhealthy_threshold}, "
                               f"codes {hc.success_codes})"}
        time.sleep(hc.interval_seconds)  # Lightsail's own check interval, part of the rule being emulated
