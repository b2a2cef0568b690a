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
from harness.targets.base import APP_UID, Rendering, Target, header
from harness.targets.compose import _escape, depends_on, hardening, healthcheck, secret_env_var

FILE = "compose/aws-emulation.yml"
# what the Lightsail pod's holder container runs (it only owns the pod's network namespace, like a pause
# container): the app image is distroless — no sleep, no shell — so the image's own python waits for a signal
POD_HOLDER = ["python3", "-c", "import signal; signal.pause()"]


def pod_name(topology: Topology) -> str:
    return topology.aws.lightsail.service


def cgroup_parent(project: str) -> str:
    """The parent cgroup of the Lightsail group; the runtime creates it with the power's limits."""
    return f"/topo-{project}-lightsail"


class AwsEmulationTarget(Target):
    name = "aws-emulation"
    description = "compose file shaped like Lightsail + Fargate + RDS, with the same images (compose/aws-emulation.yml)"

    def __init__(self, port_offset: int = 0, path: str = FILE, project: str = ""):
        self.port_offset, self.path, self.project = port_offset, path, project

    def host_port(self, port) -> int:
        return port.port + self.port_offset

    def render(self, t: Topology) -> Rendering:
        out = Rendering(self.name)
        project = self.project or f"{t.project}-aws"
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
