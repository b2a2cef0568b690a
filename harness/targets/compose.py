"""ComposeTarget: a Compose Specification file for local development.

Hardened by default: ports on 127.0.0.1, our images non-root + read_only + tmpfs (with uid/gid) + cap_drop ALL +
no-new-privileges, secrets as files under /run/secrets read through VAR_FILE (or, for upstream images that only
read VAR, interpolated at `up` time from a git-ignored env file), never written into the rendered file.
"""
from __future__ import annotations

import yaml

from harness.model import Service, Topology, resolve
from harness.targets.base import APP_UID, Host, Rendering, View, header, upstream_http_check

COMPOSE_FILE = "compose/docker-compose.yml"
SECRETS_DIR = "../.topo/secrets"  # relative to compose/, git-ignored; created by `topo up`


def secret_env_var(secret: str) -> str:
    return "TOPO_SECRET_" + secret.upper().replace("-", "_")


def _escape(value: str) -> str:
    return value.replace("$", "$$")


def healthcheck(service: Service) -> dict | None:
    hc = service.healthcheck
    if hc is None:
        return None
    if hc.kind == "command":
        test = ["CMD", *hc.command]
    else:
        port = service.port(hc.port)
        if hc.kind == "http":
            if service.hardened:  # our images carry python3, not curl
                url = f"http://127.0.0.1:{port.port}{hc.path}"
                test = ["CMD", "python3", "-c", "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=3)", url]
            else:
                test = ["CMD-SHELL", upstream_http_check(port.port, hc.path)]
        else:
            test = ["CMD", "python3", "-c", "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 3)",
                    str(port.port)]
    return {"test": [_escape(t) for t in test], "interval": f"{hc.interval_seconds:g}s", "timeout": "3s", "retries": 30,
            "start_period": "10s"}


def hardening(service: Service) -> dict:
    """Our images run non-root, read-only (writable tmpfs owned by the app user), without capabilities;
    no container may gain privileges."""
    spec: dict = {}
    if service.hardened:
        spec["user"] = f"{APP_UID}:{APP_UID}"
        spec["read_only"] = True
        spec["tmpfs"] = [f"{path}:uid={APP_UID},gid={APP_UID},mode=1777" for path in service.tmpfs]
        spec["cap_drop"] = ["ALL"]
    spec["security_opt"] = ["no-new-privileges:true"]
    return spec


def depends_on(topology: Topology, service: Service) -> dict:
    return {d: {"condition": "service_healthy" if topology.service(d).healthcheck else "service_started"}
            for d in service.depends_on}


def mounts_and_checks(topology: Topology, service: Service, volumes: dict) -> dict:
    """The part of a compose service spec every compose-shaped host writes alike: named volumes (each also added
    to the file's `volumes`), hardening, healthcheck and start order."""
    spec: dict = {}
    if service.volumes:
        spec["volumes"] = [f"{v.name}:{v.path}" for v in service.volumes]
        for v in service.volumes:
            volumes[v.name] = {"labels": {"org.topo.project": topology.project}}
    spec.update(hardening(service))
    hc = healthcheck(service)
    if hc:
        spec["healthcheck"] = hc
    if service.depends_on:
        spec["depends_on"] = depends_on(topology, service)
    return spec


class ComposeTarget(Host):
    name = "compose"
    description = "docker compose file for local development (compose/docker-compose.yml)"
    file = COMPOSE_FILE

    def __init__(self, port_offset: int = 0, path: str = "", project: str = "", secrets_dir: str = ""):
        # an ephemeral stack (tests) shifts every published port so it never collides with `make up`'s stack
        super().__init__(port_offset, path, project, secrets_dir or SECRETS_DIR)

    secret_mechanism = ("secrets_as: file → a /run/secrets file read through VAR_FILE (no value in the container's "
                        "config); secrets_as: env → an environment variable (upstream images without a *_FILE variant)")

    def passes_secret_values(self, service: Service) -> bool:
        return service.secrets_as == "env"

    def views(self, rendering: Rendering, topology: Topology) -> dict[str, View]:
        return compose_views(rendering)

    def render(self, topology: Topology) -> Rendering:
        out = Rendering(self.name)
        services: dict[str, dict] = {}
        volumes: dict[str, dict] = {}
        secrets: dict[str, dict] = {}
        for s in topology.services:
            spec: dict = {"image": s.image.ref}
            if s.command:
                spec["command"] = [_escape(resolve(topology, c, lambda o: o.name, self.host_port)) for c in s.command]
            env = {k: _escape(resolve(topology, v, lambda o: o.name, self.host_port)) for k, v in s.env}
            used_secrets = []
            for var, secret in s.secrets:
                if s.secrets_as == "file":
                    env[f"{var}_FILE"] = f"/run/secrets/{secret}"
                    used_secrets.append(secret)
                else:
                    env[var] = f"${{{secret_env_var(secret)}:?run topo up (it creates .topo/secrets.env)}}"
                secrets[secret] = {"file": f"{self.secrets_dir}/{secret}"} if s.secrets_as == "file" else secrets.get(secret, {})
            if env:
                spec["environment"] = env
            if used_secrets:
                spec["secrets"] = used_secrets
            published = [f"127.0.0.1:{self.host_port(p)}:{p.port}" + ("/udp" if p.protocol == "udp" else "") for p in s.ports if p.publish]
            if published:
                spec["ports"] = published
            exposed = [str(p.port) for p in s.ports if not p.publish]
            if exposed:
                spec["expose"] = exposed
            spec.update(mounts_and_checks(topology, s, volumes))
            if s.resources:
                # Local development does not cap CPU (that is aws-emulation's job); memory is a hard limit here too.
                spec["deploy"] = {"resources": {"limits": {"memory": f"{max(s.resources.memory_mib * 2, 256)}M"},
                                                "reservations": {"cpus": f"{s.resources.cpu:g}",
                                                                 "memory": f"{s.resources.memory_mib}M"}}}
            spec["labels"] = {"org.topo.project": topology.project, "org.topo.service": s.name, "org.topo.role": s.role}
            spec["restart"] = "unless-stopped"
            services[s.name] = spec
            if s.secrets_as == "env" and s.secrets:
                out.notes.append(topology.problem(
                    f"{s.key}.secrets_as", f"{s.name} reads its secrets from environment variables only; compose "
                    "interpolates them at `up` time, so they are visible in `docker inspect`",
                    "prefer images that read VAR_FILE", severity="notice"))
        doc = {"name": topology.project, "services": services}
        if volumes:
            doc["volumes"] = volumes
        if secrets:
            doc["secrets"] = {k: v for k, v in secrets.items() if v}
            if not doc["secrets"]:
                del doc["secrets"]
        text = header("compose") + yaml.safe_dump(doc, sort_keys=False, width=120, default_flow_style=False)
        out.files[self.path] = text
        out.data["compose"] = doc
        return out


def compose_views(r: Rendering) -> dict[str, View]:
    """Read a compose rendering back into one neutral View per service (also used by aws-emulation)."""
    out = {}
    for name, spec in r.data["compose"]["services"].items():
        env = {k.removesuffix("_FILE"): v for k, v in spec.get("environment", {}).items()}
        secret_vars = {k.removesuffix("_FILE") for k in spec.get("environment", {}) if k.endswith("_FILE")}
        secret_vars |= {k for k, v in spec.get("environment", {}).items() if str(v).startswith("${TOPO_SECRET_")}
        for k in secret_vars:
            env.pop(k, None)
        ports = {int(p.rsplit(":", 1)[1].split("/")[0]) for p in spec.get("ports", [])} | {int(p) for p in spec.get("expose", [])}
        hard = (spec.get("user", ""), bool(spec.get("read_only")), tuple(spec.get("cap_drop", [])))
        res = spec.get("deploy", {}).get("resources", {}).get("reservations")
        out[name] = View(image=spec["image"], env={k: str(v).replace("$$", "$") for k, v in env.items()},
                         command=[str(c).replace("$$", "$") for c in spec.get("command", [])],
                         secrets=secret_vars, ports=ports, hardening=hard,
                         resources=(float(res["cpus"]), int(res["memory"].rstrip("M"))) if res else None)
    return out
