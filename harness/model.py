"""The target-neutral, frozen model of a topology.

Nothing here knows compose or AWS. Every object keeps `key`, the key path it came from in topology.yaml, so a
target can speak the user's words ("services.redis.volumes: Lightsail has no volumes") and point at the line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Callable, Mapping

from harness.errors import Problem

# The `$` forms of a value: `$$` is the documented escape of a literal `$` (matched first, so `$${x}` is the text
# `${x}`), `${...}` a reference (group 1), and a `${` never closed up to the end. A lone `$` is literal.
REF = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{[^}]*\Z")
REF_FORM = re.compile(r"^(?P<svc>[a-z][a-z0-9-]*)\.(?:(?P<host>host)|(?P<kind>port|published)\.(?P<port>[a-z][a-z0-9-]*))$")
TEMPLATE_REF = re.compile(r"\{([^}]*)\}")  # {random} or {SECRET} in a secret's template
SIZE = re.compile(r"^(?P<n>[0-9]+)(?P<unit>Ki|Mi|Gi|Ti)$")
UNITS = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40}


def parse_size(text: str) -> int | None:
    """'512Mi' → bytes; None when it is not a binary size."""
    m = SIZE.match(str(text).strip())
    return int(m["n"]) * UNITS[m["unit"]] if m else None


def size_hint(text: str) -> str:
    m = re.match(r"^\s*([0-9.]+)\s*([KkMmGgTt])[Bb]?\s*$", str(text))
    if m:
        return f"write {m[1]}{m[2].upper()}i" if m[2].upper() != "K" else f"write {m[1]}Ki"
    return "write a binary size such as 512Mi or 2Gi"


@dataclass(frozen=True)
class Port:
    name: str
    port: int
    protocol: str
    publish: bool
    key: str


@dataclass(frozen=True)
class Volume:
    name: str
    path: str
    size_bytes: int | None
    key: str
    size: str = ""  # as written in topology.yaml, for messages


@dataclass(frozen=True)
class Resources:
    cpu: float
    memory_mib: int
    key: str


@dataclass(frozen=True)
class Healthcheck:
    kind: str  # http | command | tcp
    path: str = ""
    port: str = ""
    command: tuple[str, ...] = ()
    key: str = ""
    interval_seconds: float = 5.0  # a profile may shorten it (profiles.NAME.healthcheck_interval_seconds)


@dataclass(frozen=True)
class Placement:
    kind: str  # lightsail | fargate | rds | external (AWS); others may come
    key: str
    capacity: str = "on-demand"
    stop_timeout_seconds: int = 30
    volume_lifecycle: str = "service-managed"
    cpu: int | None = None
    memory: int | None = None
    instance_class: str = ""
    engine_version: str = ""
    storage_gb: int = 20
    host: str = ""
    note: str = ""
    given: tuple[str, ...] = ()  # the keys written in topology.yaml (the rest are defaults)


@dataclass(frozen=True)
class Image:
    name: str
    ref: str
    build: str
    standin: str
    key: str
    context: str = ""
    registry_env: str = ""  # env var naming the registry that publishes `ref` when Docker's default does not
    pull_note: str = ""
    distroless: bool = False  # declared: no shell, no package manager in the image (contracts/test_distroless.py)


@dataclass(frozen=True)
class Service:
    name: str
    role: str
    image: Image
    command: tuple[str, ...]
    ports: tuple[Port, ...]
    env: tuple[tuple[str, str], ...]
    secrets: tuple[tuple[str, str], ...]  # (VARIABLE, secret name)
    secrets_as: str
    volumes: tuple[Volume, ...]
    resources: Resources | None
    healthcheck: Healthcheck | None
    depends_on: tuple[str, ...]
    placement: Mapping[str, Placement | RailwayPlacement | CloudRunPlacement]  # "railway"/"cloudrun": their own
    key: str
    tmpfs: tuple[str, ...] = ()

    def port(self, name: str) -> Port | None:
        return next((p for p in self.ports if p.name == name), None)

    @property
    def hardened(self) -> bool:
        """Images we build (app, emulator) run non-root, read-only, with no capabilities; upstream ones keep theirs."""
        return self.role in ("app", "emulator")


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    key: str


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    replication: int
    key_field: str
    key: str
    producers: tuple[str, ...] = ()  # service names that send to it (deploy/asyncapi.yaml operations)
    consumers: tuple[str, ...] = ()  # service names that receive from it


@dataclass(frozen=True)
class KafkaAcl:
    """One allow rule: `operations` on a resource (topic/group/transactional_id by name or prefix, or the cluster)."""
    resource: str  # topic | group | cluster | transactional_id
    name: str  # '' for the cluster
    pattern: str  # literal | prefixed
    operations: tuple[str, ...]
    key: str


@dataclass(frozen=True)
class KafkaUser:
    name: str
    password_secret: str
    superuser: bool
    key: str
    acls: tuple[KafkaAcl, ...] = ()


@dataclass(frozen=True)
class Secret:
    name: str
    description: str
    template: str
    key: str

    @property
    def uses(self) -> tuple[str, ...]:
        """The names a template refers to ({random} included), each once, in order."""
        return tuple(dict.fromkeys(TEMPLATE_REF.findall(self.template)))


@dataclass(frozen=True)
class HealthCheckRule:
    path: str = "/"
    interval_seconds: int = 5
    timeout_seconds: int = 2
    healthy_threshold: int = 2
    unhealthy_threshold: int = 2
    success_codes: str = "200-499"


@dataclass(frozen=True)
class Lightsail:
    service: str
    power: str
    scale: int
    vpc_peering: bool
    public_container: str
    public_port: str
    health_check: HealthCheckRule
    key: str


@dataclass(frozen=True)
class Aws:
    region: str = "us-east-1"
    account_id: str = "000000000000"
    lightsail: Lightsail | None = None
    ecs_cluster: str = "default"
    namespace: str = "internal"
    rds_identifier: str = ""
    rds_endpoint_hash: str = "c0ffee0000"


@dataclass(frozen=True)
class RailwayPlacement:
    """How one service runs on Railway (`placement.railway`, all optional). Read by harness/targets/railway.py;
    the rules it must satisfy are harness/railway/limits.py."""
    key: str
    replicas: int = 1
    region: str = ""  # with replicas: {region: count}; '' = the project's default region
    public: Mapping[str, str] = field(default_factory=dict)  # port name -> http (generated domain) | tcp (TCP proxy)
    cron: str = ""  # 5-field crontab, UTC; the service runs to completion on each tick
    restart: str = "on-failure"  # on-failure | always | never (Railway's default: on-failure, 10 retries)
    restart_max_retries: int = 10
    draining_seconds: int | None = None  # SIGTERM → SIGKILL; None: Railway's default (0 s)
    healthcheck_timeout_seconds: int = 300  # Railway's default
    # run once before each deploy, in its own container of the image: same variables and private network, no
    # volume; a failure fails the deploy (railwayapp/docs deployments/pre-deploy-command.md:7,9,25). () = none
    pre_deploy: tuple[str, ...] = ()
    given: tuple[str, ...] = ()  # the keys written in topology.yaml


@dataclass(frozen=True)
class Railway:
    """The Railway project a topology deploys to (`railway:`, optional)."""
    plan: str = "hobby"  # free | trial | hobby | pro | enterprise: the per-service caps of harness/railway/limits.py
    project: str = ""  # Railway project name; '' = topology.project
    environment: str = "production"
    private_network: str = "dual-stack"  # ipv6-only for environments created before 2025-10-16
    key: str = "railway"
    declared: bool = False  # False: no `railway:` block, these are defaults


@dataclass(frozen=True)
class CloudRunPlacement:
    """How one service runs on Cloud Run, or where it runs instead (`placement.cloudrun`, all optional). Read by
    harness/targets/cloudrun.py; the rules it must satisfy are harness/cloudrun/limits.py."""
    key: str
    host: str = ""  # off Cloud Run: cloud-sql | compute-engine | memorystore | firebase; '' = a Cloud Run service
    sidecar_of: str = ""  # a container of that service's instance (shares its localhost), not a service of its own
    port: str = ""  # the ingress port's name; '' = the http healthcheck's port, else the only http port
    billing: str = "request"  # request (CPU only during requests) | instance (CPU always allocated)
    min_instances: int = 0
    max_instances: int = 100
    concurrency: int = 80  # containerConcurrency
    timeout_seconds: int = 300  # request timeout
    ingress: str = "internal"  # all | internal | internal-and-cloud-load-balancing
    given: tuple[str, ...] = ()  # the keys written in topology.yaml


@dataclass(frozen=True)
class CloudRun:
    """The Google Cloud project a topology deploys its Cloud Run services to (`cloudrun:`, optional)."""
    project: str = ""  # project id; '' = topology.project
    project_number: str = "000000000000"  # in service URLs (https://SERVICE-NUMBER.REGION.run.app); a placeholder
    region: str = "us-central1"
    network: str = "default"  # Direct VPC egress: the VPC network and subnetwork the services send private traffic to
    subnetwork: str = "default"
    private_dns: str = ""  # the private DNS zone naming the hosts off Cloud Run ('' = PROJECT.internal)
    key: str = "cloudrun"
    declared: bool = False  # False: no `cloudrun:` block, these are defaults


@dataclass(frozen=True)
class Profile:
    """A named variation of the stack (topology.yaml `profiles`): extra environment per service and the
    healthcheck interval — data applied by `with_profile`, never a code path of its own."""
    name: str
    description: str
    env: Mapping[str, tuple[tuple[str, str], ...]]
    healthcheck_interval_seconds: float | None
    key: str


@dataclass(frozen=True)
class Topology:
    project: str
    services: tuple[Service, ...]
    images: Mapping[str, Image]
    tenants: tuple[Tenant, ...]
    topics: tuple[Topic, ...]
    kafka_mechanism: str
    kafka_users: tuple[KafkaUser, ...]
    secrets: Mapping[str, Secret]
    aws: Aws
    budget_monthly_usd: float | None
    file: str
    bootstrap: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    marks: Mapping[str, tuple[int, int]] = field(repr=False, compare=False, default_factory=dict)
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    profile: str = ""  # the profile applied (with_profile), '' for the topology as written
    subset: tuple[str, ...] = ()  # the services kept by with_services (with what they need), () for all of them
    railway: Railway = field(default_factory=Railway)
    cloudrun: CloudRun = field(default_factory=CloudRun)

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def where(self, key: str) -> tuple[int, int]:
        """Line/column of a key path, falling back to its nearest parent that has a mark."""
        probe = key
        while probe:
            if probe in self.marks:
                return self.marks[probe]
            parent = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", probe)
            if parent == probe:  # a top-level key that is not in the file (e.g. `railway` when no block is written)
                break
            probe = parent
        return self.marks.get("", (1, 1))

    def problem(self, key: str, message: str, hint: str = "", severity: str = "error") -> Problem:
        line, col = self.where(key)
        return Problem(self.file, line, col, key, message, hint, severity)

    def placement(self, service: Service, target: str = "aws") -> Placement | None:
        return service.placement.get(target)

    def group(self, kind: str, target: str = "aws") -> tuple[Service, ...]:
        return tuple(s for s in self.services if (p := s.placement.get(target)) is not None and p.kind == kind)


def placement_key(t: Topology, s: Service, p, field: str) -> str:
    """The key a problem about `field` of a host placement (`placement.railway`, `placement.cloudrun`) points at:
    the field if written, else the placement, else the service."""
    if field in p.given:
        return f"{p.key}.{field}"
    return p.key if p.key in t.marks else s.key


def with_profile(t: Topology, name: str) -> Topology:
    """The topology with profile `name` applied: each listed service's environment extended or overridden, every
    healthcheck at the profile's interval. '' returns it unchanged."""
    if not name:
        return t
    if name not in t.profiles:
        from harness.errors import TopoError

        declared = ", ".join(sorted(t.profiles)) or "none"
        raise TopoError(f"{t.file}: no profile '{name}' (declared: {declared}); add it under `profiles:` or drop "
                        "--profile")
    prof = t.profiles[name]
    services = []
    for s in t.services:
        extra = dict(prof.env.get(s.name, ()))
        env = tuple((k, extra.pop(k, v)) for k, v in s.env) + tuple(extra.items())
        hc = s.healthcheck
        if hc is not None and prof.healthcheck_interval_seconds:
            hc = replace(hc, interval_seconds=prof.healthcheck_interval_seconds)
        services.append(replace(s, env=env, healthcheck=hc))
    return replace(t, services=tuple(services), profile=name)


def needed_by(t: Topology, names) -> tuple[str, ...]:
    """`names` with every service they declare in `depends_on`, transitively, in topology order."""
    from harness.errors import TopoError

    unknown = [n for n in names if t.service(n) is None]
    if unknown:
        raise TopoError(f"{t.file}: no service {', '.join(map(repr, unknown))}; the topology declares "
                        f"{', '.join(s.name for s in t.services)}")
    keep, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo += list(t.service(name).depends_on)
    return tuple(s.name for s in t.services if s.name in keep)


def with_services(t: Topology, names) -> Topology:
    """The topology cut down to `names` and what they depend on (needed_by). Bootstrap steps of the services left
    out are dropped, and an environment reference to one of them (`${backend.host}`, `${backend.port.http}`) is
    written as its plain service name and port: it names a host that does not answer in the subset, which is what
    a component test wants to see if the code under test calls it. Empty `names` returns the topology unchanged.
    Like a profile, a subset is never written to committed renderings."""
    if not names:
        return t
    keep = needed_by(t, list(names))
    left_out = replace(t, services=tuple(s for s in t.services if s.name not in keep))

    def cut(value: str) -> str:
        return resolve(left_out, value, host_of=lambda svc: svc.name)

    services = tuple(replace(s, env=tuple((k, cut(v)) for k, v in s.env)) for s in t.services if s.name in keep)
    return replace(t, services=services, bootstrap={k: v for k, v in t.bootstrap.items() if k in keep}, subset=keep)


# ---- env references ---------------------------------------------------------------------------------------------

def references(value: str) -> list[tuple[str, str, str]]:
    """Every ${...} in a value as (raw, service, port-or-'' for host). Malformed ones come back with service ''."""
    out = []
    for m in REF.finditer(str(value)):
        if m[1] is None:  # `$$` or an unclosed `${`
            continue
        form = REF_FORM.match(m[1].strip())
        if not form:
            out.append((m[0], "", ""))
        else:
            out.append((m[0], form["svc"], form["port"] or ""))
    return out


def unclosed_references(value: str) -> list[str]:
    """Each `${...` that is never closed (to the end of the value)."""
    return [m[0] for m in REF.finditer(str(value)) if m[1] is None and m[0] != "$$"]


def is_host_valued(value: str) -> bool:
    return any(svc and not port for _, svc, port in references(value))


def resolve(topology: Topology, value: str, host_of: Callable[[Service], str],
            published: Callable[[Port], int] = lambda p: p.port) -> str:
    """Substitute ${svc.host} with host_of(svc), ${svc.port.NAME} with the container port and
    ${svc.published.NAME} with the port a client outside the target uses (the host port in local development)."""

    def sub(m: re.Match) -> str:
        if m[1] is None:  # `$$` is one `$`; an unclosed `${` stays as written (validation refuses it)
            return "$" if m[0] == "$$" else m[0]
        form = REF_FORM.match(m[1].strip())
        svc = topology.service(form["svc"]) if form else None
        if svc is None:
            return m[0]
        if form["host"]:
            return host_of(svc)
        port = svc.port(form["port"])
        if port is None:
            return m[0]
        return str(published(port) if form["kind"] == "published" else port.port)

    return REF.sub(sub, str(value))


def freeze(d: dict) -> Mapping:
    return MappingProxyType(dict(d))
