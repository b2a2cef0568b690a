"""Second pass: build the frozen model from schema-valid data, then check meaning.

Meaning = references resolve, ports don't clash, sizes parse, and the AWS rules of harness/aws/limits.py hold.
"""
from __future__ import annotations

import re

from harness.aws import limits, prices
from harness.errors import Problem
from harness.loader.schema import did_you_mean
from harness.loader.yamlmarks import Mark
from harness import fidelity
from harness.model import (
    Aws, HealthCheckRule, Healthcheck, Image, KafkaAcl, KafkaUser, Lightsail, Placement, Port, Profile, Railway,
    RailwayPlacement, Resources, Secret, Service,
    Tenant, Topic, Topology, Volume, freeze, parse_size, references, size_hint, unclosed_references,
)


def build_model(data: dict, file: str, marks: dict[str, Mark]) -> tuple[Topology, list[Problem]]:
    problems: list[Problem] = []
    flat_marks = {k: (m.line, m.col) for k, m in marks.items()}

    def bad(key: str, message: str, hint: str) -> None:
        line, col = flat_marks.get(key, flat_marks.get("", (1, 1)))
        problems.append(Problem(file, line, col, key, message, hint))

    images = {
        name: Image(name, spec["ref"], spec.get("build", ""), spec.get("standin", ""), f"images.{name}",
                    spec.get("context", ""), spec.get("registry_env", ""), spec.get("pull_note", ""),
                    bool(spec.get("distroless", False)))
        for name, spec in data.get("images", {}).items()
    }
    services = []
    for name, spec in data["services"].items():
        key = f"services.{name}"
        image = images.get(spec["image"]) or Image(spec["image"], "", "", "", f"{key}.image")
        ports = tuple(
            Port(p["name"], p["port"], p.get("protocol", "tcp"), bool(p.get("publish", False)), f"{key}.ports[{i}]")
            for i, p in enumerate(spec.get("ports", []))
        )
        volumes = []
        for i, v in enumerate(spec.get("volumes", [])):
            size = None
            if "size" in v:
                size = parse_size(v["size"])
                if size is None:
                    bad(f"{key}.volumes[{i}].size", f"'{v['size']}' is not a size", size_hint(v["size"]))
            volumes.append(Volume(v["name"], v["path"], size, f"{key}.volumes[{i}]", str(v.get("size", ""))))
        resources = None
        if "resources" in spec:
            r = spec["resources"]
            mem = parse_size(r["memory"])
            if mem is None:
                bad(f"{key}.resources.memory", f"'{r['memory']}' is not a size", size_hint(r["memory"]))
                mem = 0
            resources = Resources(float(r["cpu"]), mem // (1 << 20), f"{key}.resources")
        hc = None
        if "healthcheck" in spec:
            h = spec["healthcheck"]
            if "http" in h:
                hc = Healthcheck("http", path=h["http"]["path"], port=h["http"]["port"], key=f"{key}.healthcheck.http")
            elif "command" in h:
                hc = Healthcheck("command", command=tuple(h["command"]), key=f"{key}.healthcheck.command")
            else:
                hc = Healthcheck("tcp", port=h["tcp"], key=f"{key}.healthcheck.tcp")
        placement = {}
        for target, p in spec.get("placement", {}).items():
            pkey = f"{key}.placement.{target}"
            if target == "railway":
                placement[target] = _railway_placement(p, pkey)
                continue
            if target == "cloudrun":
                placement[target] = _cloudrun_placement(p, pkey)
                continue
            if isinstance(p, str):
                p = {"kind": p}
            placement[target] = Placement(
                kind=p["kind"], key=pkey, capacity=p.get("capacity", "on-demand"),
                stop_timeout_seconds=p.get("stop_timeout_seconds", 30),
                volume_lifecycle=p.get("volume_lifecycle", "service-managed"), cpu=p.get("cpu"),
                memory=p.get("memory"), instance_class=p.get("instance_class", ""),
                engine_version=p.get("engine_version", ""), storage_gb=p.get("storage_gb", 20),
                host=p.get("host", ""), note=p.get("note", ""), given=tuple(p),
            )
        services.append(Service(
            name=name, role=spec["role"], image=image, command=tuple(str(c) for c in spec.get("command", [])),
            ports=ports, env=tuple((k, _text(v)) for k, v in spec.get("env", {}).items()),
            secrets=tuple(spec.get("secrets", {}).items()), secrets_as=spec.get("secrets_as", "file"),
            volumes=tuple(volumes), resources=resources, healthcheck=hc,
            depends_on=tuple(spec.get("depends_on", [])), placement=freeze(placement), key=key,
            tmpfs=tuple(spec.get("tmpfs", ["/tmp"] if spec["role"] in ("app", "emulator") else [])),
        ))

    aws_data = data.get("aws", {})
    lightsail = None
    if "lightsail" in aws_data:
        ls = aws_data["lightsail"]
        pe = ls.get("public_endpoint", {})
        hc = pe.get("health_check", {})
        defaults = HealthCheckRule()
        lightsail = Lightsail(
            service=ls["service"], power=ls["power"], scale=ls["scale"], vpc_peering=bool(ls.get("vpc_peering", False)),
            public_container=pe.get("container", ""), public_port=pe.get("port", ""),
            health_check=HealthCheckRule(**{f: hc.get(f, getattr(defaults, f)) for f in defaults.__dataclass_fields__}),
            key="aws.lightsail",
        )
    aws = Aws(
        region=aws_data.get("region", "us-east-1"), account_id=aws_data.get("account_id", "000000000000"),
        lightsail=lightsail, ecs_cluster=aws_data.get("ecs", {}).get("cluster", f"{data['project']}"),
        namespace=aws_data.get("ecs", {}).get("namespace", f"{data['project']}.internal"),
        rds_identifier=aws_data.get("rds", {}).get("identifier", f"{data['project']}-postgres"),
        rds_endpoint_hash=aws_data.get("rds", {}).get("endpoint_hash", "c0ffee0000"),
    )
    kafka = data.get("kafka", {"mechanism": "SCRAM-SHA-256", "users": []})
    topology = Topology(
        project=data["project"],
        services=tuple(services),
        images=freeze(images),
        tenants=tuple(Tenant(t["id"], t.get("name", t["id"]), f"tenants[{i}]") for i, t in enumerate(data["tenants"])),
        topics=tuple(Topic(t["name"], t["partitions"], t.get("replication", 1), t.get("key", ""), f"topics[{i}]",
                           tuple(t.get("producers", ())), tuple(t.get("consumers", ())))
                     for i, t in enumerate(data.get("topics", []))),
        kafka_mechanism=kafka["mechanism"],
        kafka_users=tuple(KafkaUser(u["name"], u["password_secret"], bool(u.get("superuser", False)), f"kafka.users[{i}]",
                                    tuple(KafkaAcl(a["resource"], a.get("name", ""), a.get("pattern", "literal"),
                                                   tuple(a["operations"]), f"kafka.users[{i}].acls[{j}]")
                                          for j, a in enumerate(u.get("acls", []))))
                          for i, u in enumerate(kafka["users"])),
        secrets=freeze({n: Secret(n, (s or {}).get("description", ""), (s or {}).get("template", ""), f"secrets.{n}")
                        for n, s in data.get("secrets", {}).items()}),
        aws=aws,
        budget_monthly_usd=data.get("budget", {}).get("monthly_usd"),
        file=file,
        bootstrap=freeze({k: tuple(v) for k, v in data.get("bootstrap", {}).items()}),
        marks=freeze(flat_marks),
        railway=_railway(data),
        cloudrun=_cloudrun(data),
        profiles=freeze({n: Profile(n, (p or {}).get("description", ""),
                                    freeze({svc: tuple((k, _text(v)) for k, v in (env or {}).items())
                                            for svc, env in (p or {}).get("env", {}).items()}),
                                    (p or {}).get("healthcheck_interval_seconds"), f"profiles.{n}")
                         for n, p in data.get("profiles", {}).items()}),
    )
    return topology, problems


def _railway_placement(p: dict, key: str) -> RailwayPlacement:
    d = RailwayPlacement(key)
    return RailwayPlacement(
        key=key, replicas=p.get("replicas", d.replicas), region=p.get("region", ""),
        public=freeze(p.get("public", {})), cron=p.get("cron", ""), restart=p.get("restart", d.restart),
        restart_max_retries=p.get("restart_max_retries", d.restart_max_retries),
        draining_seconds=p.get("draining_seconds"),
        healthcheck_timeout_seconds=p.get("healthcheck_timeout_seconds", d.healthcheck_timeout_seconds),
        pre_deploy=_argv(p.get("pre_deploy", ())), given=tuple(p))


def _argv(value) -> tuple[str, ...]:
    """A command as a list of arguments; a string is split as a shell would split it (no shell runs it)."""
    import shlex

    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError:
            return (value,)  # unbalanced quotes: kept whole, reported by the check below
    return tuple(str(c) for c in value)


def _cloudrun_placement(p: dict, key: str):
    from harness.model import CloudRunPlacement

    d = CloudRunPlacement(key)
    return CloudRunPlacement(key=key, **{f: p.get(f, getattr(d, f)) for f in (
        "host", "sidecar_of", "port", "billing", "min_instances", "max_instances", "concurrency", "timeout_seconds",
        "ingress")}, given=tuple(p))


def _cloudrun(data: dict):
    from harness.model import CloudRun

    if "cloudrun" not in data:
        return CloudRun(project=data["project"])
    c, d = data["cloudrun"] or {}, CloudRun()
    return CloudRun(project=c.get("project", data["project"]), **{f: str(c.get(f, getattr(d, f))) for f in (
        "project_number", "region", "network", "subnetwork", "private_dns")}, declared=True)


def _railway(data: dict) -> Railway:
    if "railway" not in data:
        return Railway()
    r, d = data["railway"] or {}, Railway()
    return Railway(plan=r.get("plan", d.plan), project=r.get("project", data["project"]),
                   environment=r.get("environment", d.environment),
                   private_network=r.get("private_network", d.private_network), declared=True)


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check(t: Topology) -> list[Problem]:
    out: list[Problem] = []
    out += _check_references(t)
    out += _check_graph(t)
    out += _check_env(t)
    out += _check_volumes(t)
    out += _check_ports(t)
    out += _check_tenants_topics(t)
    out += _check_placement_keys(t)
    out += _check_fargate(t)
    out += _check_lightsail(t)
    out += _check_rds(t)
    out += _check_profiles(t)
    out += _check_railway_public(t)
    out += _check_railway_pre_deploy(t)
    out += fidelity.check(t)  # what the upstream images need (harness/fidelity.py)
    return out


def _check_references(t: Topology) -> list[Problem]:
    out = []
    names = [s.name for s in t.services]
    for s in t.services:
        if s.image.name not in t.images:
            out.append(t.problem(f"{s.key}.image", f"unknown image '{s.image.name}'",
                                 did_you_mean(s.image.name, t.images) or f"declare it under `images:` ({', '.join(t.images)})"))
        values = [(f"{s.key}.env.{k}", v) for k, v in s.env] + [(f"{s.key}.command[{i}]", c) for i, c in enumerate(s.command)]
        for key, value in values:
            for raw in unclosed_references(value):
                out.append(t.problem(key, f"'{raw}' opens a reference with ${{ that is never closed",
                                     "close it with } (e.g. ${SERVICE.host}); a literal $ is $$"))
            for raw, svc, port in references(value):
                if not svc:
                    out.append(t.problem(key, f"{raw} is not a reference topo understands",
                                         "write ${SERVICE.host}, ${SERVICE.port.NAME} or ${SERVICE.published.NAME}; a literal $ is $$"))
                    continue
                target = t.service(svc)
                if target is None:
                    out.append(t.problem(key, f"{raw} names an unknown service '{svc}'",
                                         did_you_mean(svc, names) or f"services are: {', '.join(names)}"))
                elif port and target.port(port) is None:
                    out.append(t.problem(key, f"{raw}: service '{svc}' has no port named '{port}'",
                                         did_you_mean(port, [p.name for p in target.ports])
                                         or f"its ports are: {', '.join(p.name for p in target.ports) or 'none'}"))
                elif ".published." in raw and not target.port(port).publish:
                    out.append(t.problem(key, f"{raw}: port '{port}' of {svc} is not published",
                                         f"add publish: true to it, or write ${{{svc}.port.{port}}}"))
        for var, secret in s.secrets:
            if secret not in t.secrets:
                out.append(t.problem(f"{s.key}.secrets.{var}", f"unknown secret '{secret}'",
                                     did_you_mean(secret, t.secrets) or "declare it under `secrets:`"))
            if var in dict(s.env):
                out.append(t.problem(f"{s.key}.secrets.{var}", f"{var} is both an env value and a secret",
                                     "keep it in one place"))
        for i, dep in enumerate(s.depends_on):
            if dep == s.name:
                out.append(t.problem(f"{s.key}.depends_on[{i}]", "a service cannot depend on itself", "remove it"))
            elif t.service(dep) is None:
                out.append(t.problem(f"{s.key}.depends_on[{i}]", f"unknown service '{dep}'",
                                     did_you_mean(dep, names) or f"services are: {', '.join(names)}"))
        if s.healthcheck and s.healthcheck.port and s.port(s.healthcheck.port) is None:
            out.append(t.problem(f"{s.healthcheck.key}.port" if s.healthcheck.kind == "http" else s.healthcheck.key,
                                 f"no port named '{s.healthcheck.port}' on this service",
                                 did_you_mean(s.healthcheck.port, [p.name for p in s.ports])
                                 or f"its ports are: {', '.join(p.name for p in s.ports) or 'none'}"))
    for u in t.kafka_users:
        if u.password_secret not in t.secrets:
            out.append(t.problem(f"{u.key}.password_secret", f"unknown secret '{u.password_secret}'",
                                 did_you_mean(u.password_secret, t.secrets) or "declare it under `secrets:`"))
        if u.superuser and u.acls:
            out.append(t.problem(f"{u.key}.acls", "a superuser bypasses ACLs, so these would never apply",
                                 "drop `acls` or `superuser: true`"))
        topic_names = {tp.name for tp in t.topics}
        for a in u.acls:
            if a.resource == "cluster" and a.name:
                out.append(t.problem(f"{a.key}.name", "the cluster resource has no name", "drop `name`"))
            elif a.resource != "cluster" and not a.name:
                out.append(t.problem(a.key, f"a {a.resource} ACL needs a `name`", "name the topic or group"))
            elif a.resource == "topic" and a.pattern == "literal" and a.name not in topic_names:
                out.append(t.problem(f"{a.key}.name", f"unknown topic '{a.name}'",
                                     did_you_mean(a.name, topic_names) or "declare it under `topics:`"))
    from pathlib import Path

    for svc, files in t.bootstrap.items():
        if t.service(svc) is None:
            out.append(t.problem(f"bootstrap.{svc}", f"unknown service '{svc}'",
                                 did_you_mean(svc, names) or f"services are: {', '.join(names)}"))
        for i, f in enumerate(files):
            if not (Path(t.file).parent / f).is_file():
                out.append(t.problem(f"bootstrap.{svc}[{i}]", f"file {f} does not exist",
                                     "paths are relative to the folder of topology.yaml"))
    for sec in t.secrets.values():
        for ref in sec.uses:
            if ref != "random" and ref not in t.secrets:
                out.append(t.problem(f"{sec.key}.template", f"{{{ref}}} names an unknown secret",
                                     did_you_mean(ref, t.secrets) or "use {random} or the name of another secret"))
            elif ref == sec.name:
                out.append(t.problem(f"{sec.key}.template", f"the template of '{sec.name}' uses itself",
                                     "build it from {random} or from other secrets"))
    return out


def _check_railway_public(t: Topology) -> list[Problem]:
    """`placement.railway.public` names ports of its own service (the plan's limits are checked at render time,
    harness/railway/limits.py, so a topology never deployed to Railway is not held to them)."""
    out = []
    for s in t.services:
        p = s.placement.get("railway")
        for name in (p.public if p is not None else {}):
            if s.port(name) is None:
                out.append(t.problem(f"{p.key}.public.{name}", f"no port named '{name}' on this service",
                                     did_you_mean(name, [x.name for x in s.ports])
                                     or f"its ports are: {', '.join(x.name for x in s.ports) or 'none'}"))
    return out


def _check_railway_pre_deploy(t: Topology) -> list[Problem]:
    """`placement.railway.pre_deploy` is a command that can be split into arguments, and the one-off container that
    runs it locally (`<service>-pre-deploy`, harness/targets/railway_emulation.py) is not another service's name."""
    import shlex

    out = []
    names = {s.name for s in t.services}
    for s in t.services:
        p = s.placement.get("railway")
        if p is None or not p.pre_deploy:
            continue
        if len(p.pre_deploy) == 1:
            try:
                shlex.split(p.pre_deploy[0])
            except ValueError as exc:
                out.append(t.problem(f"{p.key}.pre_deploy", f"cannot split the pre-deploy command into arguments: {exc}",
                                     "close the quote, or write it as a list: [python3, -c, '...']"))
        if f"{s.name}-pre-deploy" in names:
            out.append(t.problem(f"{p.key}.pre_deploy", f"service '{s.name}-pre-deploy' already exists: it is the "
                                 "name of this service's pre-deploy container in railway-emulation",
                                 f"rename service '{s.name}-pre-deploy'"))
    return out


def _check_ports(t: Topology) -> list[Problem]:
    out = []
    published: dict[int, str] = {}
    for s in t.services:
        names: set[str] = set()
        numbers: dict[int, str] = {}
        for p in s.ports:
            if p.name in names:
                out.append(t.problem(f"{p.key}.name", f"port name '{p.name}' is used twice in this service", "rename one"))
            names.add(p.name)
            if p.port in numbers:
                out.append(t.problem(f"{p.key}.port", f"port {p.port} is already declared as '{numbers[p.port]}'",
                                     "declare each container port once"))
            numbers[p.port] = p.name
            if p.publish:
                if p.port in published:
                    out.append(t.problem(f"{p.key}.port", f"port {p.port} is already published by {published[p.port]}",
                                         "two services cannot publish the same port on 127.0.0.1; change one"))
                else:
                    published[p.port] = f"services.{s.name}"
    return out


def _check_tenants_topics(t: Topology) -> list[Problem]:
    out = []
    seen: set[str] = set()
    for tenant in t.tenants:
        if tenant.id in seen:
            out.append(t.problem(f"{tenant.key}.id", f"tenant '{tenant.id}' is declared twice", "tenant ids are unique"))
        seen.add(tenant.id)
    if t.tenants and t.tenants[0].id != "tenant0":
        out.append(t.problem(f"{t.tenants[0].key}.id", f"the first tenant is '{t.tenants[0].id}', not tenant0",
                             "list the platform tenant `tenant0` first; it is processed like every other tenant"))
    topics: set[str] = set()
    for topic in t.topics:
        if topic.name in topics:
            out.append(t.problem(f"{topic.key}.name", f"topic '{topic.name}' is declared twice", "keep one"))
        topics.add(topic.name)
        names = [s.name for s in t.services]
        for role in ("producers", "consumers"):
            for j, svc in enumerate(getattr(topic, role)):
                if svc not in names:
                    out.append(t.problem(f"{topic.key}.{role}[{j}]", f"unknown service '{svc}'",
                                         did_you_mean(svc, names) or f"services are: {', '.join(names)}"))
    users: set[str] = set()
    for u in t.kafka_users:
        if u.name in users:
            out.append(t.problem(f"{u.key}.name", f"SASL user '{u.name}' is declared twice", "keep one"))
        users.add(u.name)
    return out


def _check_placement_keys(t: Topology) -> list[Problem]:
    """Keys a placement kind does not read (they would be silently ignored by the renderers)."""
    out = []
    for s in t.services:
        p = s.placement.get("aws")
        if p is None:
            continue
        allowed, src = limits.PLACEMENT_KEYS.get(p.kind, (frozenset(p.given), ""))
        for k in p.given:
            if k not in allowed:
                reads = ", ".join(sorted(allowed - {"kind", "note"})) or "nothing but kind and note"
                a = "an" if p.kind[0] in "aeiour" else "a"  # "an rds", "an external"
                out.append(t.problem(f"{p.key}.{k}", f"`{k}` does not apply to {a} {p.kind} placement",
                                     f"remove it; {a} {p.kind} placement reads {reads} ({src})"))
    return out


def _check_fargate(t: Topology) -> list[Problem]:
    out = []
    for s in t.services:
        p = s.placement.get("aws")
        if p is None:
            continue
        if p.kind == "fargate":
            if (p.cpu is None) != (p.memory is None):
                out.append(t.problem(p.key, "give both `cpu` and `memory` for a Fargate task size, or neither",
                                     "omit both to size the task from `resources`"))
            elif p.cpu is not None and not limits.fargate_pair_valid(p.cpu, p.memory):
                allowed = limits.FARGATE_SIZES.get(p.cpu)
                hint = (f"with cpu {p.cpu} use memory {allowed[0]}-{allowed[-1]} MiB" if allowed
                        else f"cpu must be one of {', '.join(map(str, limits.FARGATE_SIZES))}")
                out.append(t.problem(f"{p.key}.memory" if allowed else f"{p.key}.cpu",
                                     f"cpu {p.cpu} / memory {p.memory} is not a Fargate task size",
                                     f"{hint} ({limits.DOC_FARGATE_SIZES})"))
            elif p.cpu is None:
                if s.resources is None:
                    out.append(t.problem(p.key, "a Fargate task needs `resources` (or placement cpu/memory) to be sized",
                                         "add resources: {cpu: 0.5, memory: 2Gi}"))
                elif limits.snap_fargate(s.resources.cpu, s.resources.memory_mib) is None:
                    out.append(t.problem(s.resources.key, "no Fargate task size holds these resources",
                                         f"Fargate sizes: {limits.describe_fargate_sizes()}"))
            max_stop, src = limits.FARGATE_SPOT_STOP_TIMEOUT_MAX
            min_stop, min_src = limits.FARGATE_STOP_TIMEOUT_MIN
            if p.stop_timeout_seconds > max_stop:
                out.append(t.problem(f"{p.key}.stop_timeout_seconds", f"{p.stop_timeout_seconds} s exceeds ECS's maximum",
                                     f"use at most {max_stop} ({src})"))
            elif p.stop_timeout_seconds < min_stop:
                out.append(t.problem(f"{p.key}.stop_timeout_seconds", f"{p.stop_timeout_seconds} s is below ECS's minimum",
                                     f"use {min_stop}-{max_stop} ({min_src})"))
            out += _check_fargate_names(t, s)
            out += _check_ebs(t, s)
            if p.capacity == "spot" and s.role == "stateful" and not s.volumes:
                out.append(t.problem(f"{p.key}", "on Fargate Spot a stateful service without a volume keeps its data in "
                                     "the task: the data does not survive an interruption",
                                     "declare a volume with volume_lifecycle: retained (standalone task, deleteOnTermination "
                                     f"false), snapshot or efs ({limits.DOC_FARGATE_SPOT})", severity="warning"))
            if p.capacity == "spot" and s.volumes and p.volume_lifecycle == "service-managed":
                out.append(t.problem(f"{p.key}", "on Fargate Spot a service-managed EBS volume is replaced with its task: "
                                     "the data does not survive an interruption",
                                     "declare volume_lifecycle: retained (standalone task, deleteOnTermination false), "
                                     f"snapshot or efs ({limits.DOC_ECS_EBS})", severity="warning"))
        elif p.kind == "rds":
            if not p.instance_class:
                out.append(t.problem(p.key, "an RDS placement needs `instance_class`", "e.g. instance_class: db.t4g.micro"))
        elif p.kind == "external" and not p.host:
            out.append(t.problem(p.key, "an external placement needs `host` (where the service lives)",
                                 "e.g. host: firebase.example.internal"))
    return out


def _check_lightsail(t: Topology) -> list[Problem]:
    out = []
    group = t.group("lightsail")
    ls = t.aws.lightsail
    if not group:
        return out
    if ls is None:
        first = group[0]
        return [t.problem(first.placement["aws"].key, "placed on Lightsail, but `aws.lightsail` is not declared",
                          "add aws.lightsail with service, power, scale and public_endpoint")]
    rules = limits.LIGHTSAIL_RULES
    max_c, src = rules["max_containers"]
    if len(group) > max_c:
        out.append(t.problem(group[max_c].placement["aws"].key,
                             f"{len(group)} containers are placed on Lightsail; a deployment holds at most {max_c}",
                             f"move some to Fargate or a second container service ({src})"))
    pattern, src = rules["service_name"]
    if not pattern.match(ls.service):
        out.append(t.problem("aws.lightsail.service", f"'{ls.service}' is not a Lightsail service name",
                             f"1-63 lowercase letters, digits and inner hyphens ({src})"))
    lo, _ = rules["scale_min"]
    hi, src = rules["scale_max"]
    if not lo <= ls.scale <= hi:
        out.append(t.problem("aws.lightsail.scale", f"scale {ls.scale} is out of range", f"use {lo}-{hi} ({src})"))
    power = limits.LIGHTSAIL_POWERS.get(ls.power)
    if power is None:
        out.append(t.problem("aws.lightsail.power", f"'{ls.power}' is not a Lightsail power",
                             did_you_mean(ls.power, limits.LIGHTSAIL_POWERS)
                             or f"use one of: {', '.join(limits.LIGHTSAIL_POWERS)} ({limits.BOTOCORE_LIGHTSAIL})"))
    pattern, src = rules["container_name"]
    ports_in_pod: dict[int, str] = {}
    for s in group:
        pkey = s.placement["aws"].key
        if not pattern.match(s.name):
            out.append(t.problem(s.key, f"'{s.name}' is not a Lightsail container name",
                                 f"1-53 lowercase letters, digits and inner hyphens ({src})"))
        if s.role == "stateful":
            out.append(t.problem(pkey, "a stateful service cannot run on Lightsail (containers there have no volumes)",
                                 "place it on fargate (with an EBS volume) or rds"))
        elif s.volumes:
            out.append(t.problem(f"{s.key}.volumes", "Lightsail containers have no volumes",
                                 f"drop the volumes or place the service on fargate ({rules['no_volumes'][1]})"))
        for p in s.ports:
            if p.port in ports_in_pod:
                out.append(t.problem(f"{p.key}.port", f"port {p.port} is also used by {ports_in_pod[p.port]}: Lightsail "
                                     "containers share one network namespace (localhost)",
                                     "give each container of the Lightsail service its own port"))
            else:
                ports_in_pod[p.port] = s.name
        if s.resources is None:
            out.append(t.problem(s.key, "a Lightsail container needs `resources` so topo can check it fits the power",
                                 "add resources: {cpu: 0.05, memory: 128Mi}"))
        crossing = []
        for var, value in s.env:
            for _, svc, _port in references(value):
                other = t.service(svc)
                kind = other.placement["aws"].kind if other is not None and "aws" in other.placement else ""
                if kind in ("fargate", "rds") and f"{svc} ({kind})" not in [c for _, c in crossing]:
                    crossing.append((var, f"{svc} ({kind})"))
        if crossing and not ls.vpc_peering:
            out.append(t.problem(f"{s.key}.env.{crossing[0][0]}",
                                 f"Lightsail reaches {', '.join(c for _, c in crossing)} only through VPC peering",
                                 "set aws.lightsail.vpc_peering: true (and peer the Lightsail VPC)"))
    names = {x.name for x in t.services}
    for s in group:
        for var, value in s.env:
            m = re.match(r"^(?:[a-z]+://)?(?:[^@/]*@)?([a-z][a-z0-9-]*)(?::[^/]*)?(?:/|$)", value)
            if m and m[1] in names and m[1] != s.name:
                other = t.service(m[1])
                where = ("localhost" if "aws" in other.placement and other.placement["aws"].kind == "lightsail"
                         else "its AWS name")
                out.append(t.problem(f"{s.key}.env.{var}", f"'{m[1]}' is written as a literal hostname; on Lightsail "
                                     f"containers do not resolve each other's names ({m[1]} is reached on {where})",
                                     f"write ${{{m[1]}.host}} so each target resolves it", severity="warning"))
    sized = [s for s in group if s.role != "stateful" and not s.volumes]  # those are errors of their own
    if power is not None and all(s.resources for s in sized):
        cpu = sum(s.resources.cpu for s in sized)
        mem = sum(s.resources.memory_mib for s in sized)
        if cpu > power.vcpu + 1e-9 or mem > power.memory_mib:
            out.append(t.problem("aws.lightsail.power",
                                 f"the Lightsail containers request {cpu:g} vCPU / {mem} MiB; '{ls.power}' gives "
                                 f"{power.vcpu:g} vCPU / {power.memory_mib} MiB per node",
                                 "choose a larger power or lower the containers' resources"))
    # exactly one public HTTP(S) endpoint
    if not ls.public_container:
        out.append(t.problem("aws.lightsail", "a Lightsail service needs exactly one public endpoint",
                             "add public_endpoint: {container: NAME, port: PORT-NAME}"))
    else:
        pub = t.service(ls.public_container)
        if pub is None or pub not in group:
            out.append(t.problem("aws.lightsail.public_endpoint.container",
                                 f"'{ls.public_container}' is not a container of the Lightsail service",
                                 did_you_mean(ls.public_container, [s.name for s in group])
                                 or f"choose one of: {', '.join(s.name for s in group)}"))
        else:
            port = pub.port(ls.public_port)
            if port is None:
                out.append(t.problem("aws.lightsail.public_endpoint.port", f"'{pub.name}' has no port named '{ls.public_port}'",
                                     did_you_mean(ls.public_port, [p.name for p in pub.ports])
                                     or f"its ports are: {', '.join(p.name for p in pub.ports) or 'none'}"))
            elif port.protocol not in rules["public_protocols"][0]:
                out.append(t.problem("aws.lightsail.public_endpoint.port",
                                     f"the public endpoint must be HTTP or HTTPS; port '{port.name}' of {pub.name} is {port.protocol}",
                                     f"serve HTTP on it and declare protocol: http ({rules['public_protocols'][1]})"))
    hc = ls.health_check
    for field, (_default, lo, hi) in limits.LIGHTSAIL_HEALTH.items():
        value = getattr(hc, field)
        if not lo <= value <= hi:
            out.append(t.problem(f"aws.lightsail.public_endpoint.health_check.{field}", f"{value} is out of range",
                                 f"use {lo}-{hi} ({limits.LIGHTSAIL_HEALTH_SOURCE})"))
    if not limits.SUCCESS_CODES.match(hc.success_codes):
        out.append(t.problem("aws.lightsail.public_endpoint.health_check.success_codes",
                             f"'{hc.success_codes}' is not a list of HTTP codes", "write e.g. 200-499 or 200,302"))
    else:
        (lo, hi), src = limits.SUCCESS_CODES_RANGE
        for part in hc.success_codes.split(","):
            a, _, b = part.partition("-")
            a, b = int(a), int(b or a)
            if not (lo <= a <= hi and lo <= b <= hi):
                out.append(t.problem("aws.lightsail.public_endpoint.health_check.success_codes",
                                     f"'{part}' is outside the codes Lightsail accepts",
                                     f"use codes within {lo}-{hi} ({src})"))
            elif a > b:
                out.append(t.problem("aws.lightsail.public_endpoint.health_check.success_codes",
                                     f"the range '{part}' runs backwards", f"write {b}-{a}"))
    return out


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each distinct cycle once, as a closed path [a, b, ..., a], starting at the node declared first."""
    order = {n: i for i, n in enumerate(graph)}
    found: dict[tuple[str, ...], list[str]] = {}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for m in graph.get(n, ()):
            if m == n or m not in graph:
                continue  # self-reference and unknown names are reported on their own
            if state.get(m) == 1:
                cycle = stack[stack.index(m):]
                first = min(range(len(cycle)), key=lambda i: order[cycle[i]])
                cycle = cycle[first:] + cycle[:first]
                found.setdefault(tuple(cycle), cycle + [cycle[0]])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n)
    return list(found.values())


def _check_graph(t: Topology) -> list[Problem]:
    """depends_on cycles (compose cannot start them) and secret templates built from each other in a circle."""
    out = []
    deps = {s.name: list(s.depends_on) for s in t.services}
    for cycle in _cycles(deps):
        first = t.service(cycle[0])
        i = first.depends_on.index(cycle[1])
        out.append(t.problem(f"{first.key}.depends_on[{i}]", f"depends_on forms a cycle: {' → '.join(cycle)}",
                             "remove one of these dependencies; no service of a cycle can start first"))
    for cycle in _cycles({n: list(sec.uses) for n, sec in t.secrets.items()}):
        out.append(t.problem(f"{t.secrets[cycle[0]].key}.template",
                             f"secret templates form a cycle: {' → '.join(cycle)}",
                             "build one of them from {random} so the others can be derived from it"))
    return out


CREDENTIAL_NAME = re.compile(r"PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL",
                             re.IGNORECASE)
NOT_A_CREDENTIAL = re.compile(r"^(?:|true|false|yes|no|on|off|[0-9]+|/.*)$", re.IGNORECASE)  # flags, numbers, paths
URL_PASSWORD = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/@\s:]*:(?P<password>[^/@\s]+)@")


def _check_profiles(t: Topology) -> list[Problem]:
    """A profile names services that exist and never sets a variable the service takes from `secrets:`."""
    out = []
    names = [s.name for s in t.services]
    for prof in t.profiles.values():
        for svc, env in prof.env.items():
            s = t.service(svc)
            if s is None:
                out.append(t.problem(f"{prof.key}.env.{svc}", f"profile '{prof.name}' sets the environment of an "
                                     f"unknown service '{svc}'", did_you_mean(svc, names) or f"services: {', '.join(names)}"))
                continue
            secret_vars = {var for var, _ in s.secrets}
            for var, _value in env:
                if var in secret_vars:
                    out.append(t.problem(f"{prof.key}.env.{svc}.{var}", f"{var} is a secret of {svc} (services.{svc}."
                                         "secrets); a profile cannot replace it", "drop it from the profile"))
    return out


def _check_env(t: Topology) -> list[Problem]:
    """Variable names a shell accepts; credentials written as literal env values (use `secrets:`)."""
    out = []
    pattern, src = limits.ENV_NAME
    for s in t.services:
        for name, value in s.env:
            key = f"{s.key}.env.{name}"
            if not pattern.match(name):
                if not name:
                    out.append(t.problem(key, "an environment variable needs a name", f"name it ({src})"))
                else:
                    fix = re.sub(r"[^A-Za-z0-9_]", "_", name)
                    fix = f"_{fix}" if fix[0].isdigit() else fix
                    out.append(t.problem(key, f"'{name}' is not an environment variable name a shell accepts",
                                         f"use letters, digits and _, not starting with a digit, e.g. {fix} ({src})"))
                continue
            if name.upper().endswith(("_FILE", "_PATH")):
                continue
            m = URL_PASSWORD.match(value)
            if m and "$" not in m["password"]:
                out.append(t.problem(key, f"{name} carries a password in its URL (user:password@)",
                                     "drop the password from the URL and pass it through `secrets:` (declare it under "
                                     f"top-level `secrets:` and map it: secrets: {{{name.removesuffix('_URL')}_PASSWORD: NAME}})",
                                     severity="warning"))
            elif CREDENTIAL_NAME.search(name) and "${" not in value and not NOT_A_CREDENTIAL.match(value.strip()):
                out.append(t.problem(key, f"{name} looks like a credential written in plain text",
                                     f"declare a secret under top-level `secrets:` and map it: secrets: {{{name}: NAME}}; "
                                     "env values are written in plain text into every rendering", severity="warning"))
    return out


def _check_volumes(t: Topology) -> list[Problem]:
    """One volume, one service: a Fargate task gets its own EBS volume and Lightsail has none, so a volume shared by
    two services would work locally and nowhere else."""
    out = []
    owner: dict[str, str] = {}
    for s in t.services:
        for v in s.volumes:
            if v.name in owner:
                where = "in this service" if owner[v.name] == s.name else f"by {owner[v.name]}"
                out.append(t.problem(f"{v.key}.name", f"volume '{v.name}' is already used {where}",
                                     "give each service its own volume (an EBS volume belongs to one task)"
                                     if owner[v.name] != s.name else "mount each volume once"))
            else:
                owner[v.name] = s.name
    return out


def _check_fargate_names(t: Topology, s: Service) -> list[Problem]:
    """Service Connect makes NAME.NAMESPACE a DNS name: each label at most 63, the alias at most 127 characters."""
    out = []
    label_max, src = limits.ECS_RULES["dns_label_max"]
    alias_max, alias_src = limits.ECS_RULES["client_alias_max"]
    alias = f"{s.name}.{t.aws.namespace}"
    if len(s.name) > label_max:
        out.append(t.problem(s.key, f"'{s.name}' is {len(s.name)} characters: too long for the DNS name {alias}",
                             f"use at most {label_max} characters ({src})"))
    elif len(alias) > alias_max:
        out.append(t.problem(s.key, f"the Service Connect name {alias} is {len(alias)} characters",
                             f"shorten the service or aws.ecs.namespace to at most {alias_max} in all ({alias_src})"))
    return out


def _check_ebs(t: Topology, s: Service) -> list[Problem]:
    """EBS volumes are sized in whole GiB within the gp3 range; never rounded or defaulted behind the user's back."""
    out = []
    (lo, hi), src = limits.ECS_RULES["ebs_gp3_gib"]
    gib = 1 << 30
    for v in s.volumes:
        if v.size_bytes is None:
            continue
        if v.size_bytes < lo * gib and v.size_bytes % gib == 0:
            out.append(t.problem(f"{v.key}.size", f"{v.size} is below the EBS gp3 minimum of {lo} GiB",
                                 f"write at least {lo}Gi, or omit size for the default 20Gi ({src})"))
        elif v.size_bytes % gib:
            up = -(-v.size_bytes // gib)
            out.append(t.problem(f"{v.key}.size", f"{v.size} is not a whole number of GiB: an EBS volume is sized in GiB",
                                 f"write {max(up, lo)}Gi ({src})"))
        elif v.size_bytes > hi * gib:
            out.append(t.problem(f"{v.key}.size", f"{v.size} exceeds the EBS gp3 maximum of {hi} GiB",
                                 f"use at most {hi}Gi ({src})"))
    return out


def _check_rds(t: Topology) -> list[Problem]:
    """CreateDBInstance rules botocore documents but does not check, and the price topo needs for the budget."""
    out = []
    group = t.group("rds")
    if not group:
        return out
    rules = limits.RDS_RULES
    most, src = rules["max_instances"]
    for extra in group[most:]:
        out.append(t.problem(extra.placement["aws"].key,
                             f"a second RDS placement: topo renders one DB instance per topology ({group[0].name})",
                             f"place {extra.name} on fargate, or keep both databases in {group[0].name} ({src})"))
    s = group[0]
    p = s.placement["aws"]
    pattern, src = rules["identifier"]
    ident = t.aws.rds_identifier
    if not pattern.match(ident):
        fix = re.sub(r"-+", "-", ident).strip("-")
        if "aws.rds.identifier" in t.marks:
            out.append(t.problem("aws.rds.identifier", f"'{ident}' is not an RDS DB instance identifier",
                                 f"e.g. {fix} ({src})"))
        else:
            out.append(t.problem("project", f"the RDS identifier '{ident}' derived from the project is not valid",
                                 f"set aws.rds.identifier, e.g. {fix} ({src})"))
    pattern, src = rules["instance_class"]
    table = prices.price("rds.instance_hour")
    if p.instance_class and not pattern.match(p.instance_class):
        out.append(t.problem(f"{p.key}.instance_class", f"'{p.instance_class}' is not an RDS instance class",
                             did_you_mean(p.instance_class, table) or f"write db.FAMILY.SIZE, e.g. db.t4g.micro ({src})"))
    elif p.instance_class and p.instance_class not in table:
        out.append(t.problem(f"{p.key}.instance_class",
                             f"topo has no price for '{p.instance_class}', so the budget cannot count it",
                             did_you_mean(p.instance_class, table)
                             or f"use one of {', '.join(table)}, or add its hourly price with its source to "
                                "harness/aws/prices.py"))
    engine, storage = limits.RDS_RENDERED
    if p.engine_version:
        pattern, src = rules["postgres_version"]
        m = pattern.match(p.engine_version)
        majors, msrc = rules["postgres_majors"]
        if not m:
            out.append(t.problem(f"{p.key}.engine_version", f"'{p.engine_version}' is not a PostgreSQL engine version",
                                 f"write MAJOR or MAJOR.MINOR, e.g. 16.4 ({src})"))
        elif int(m["major"]) not in majors:
            out.append(t.problem(f"{p.key}.engine_version", f"PostgreSQL {m['major']} is not a major version RDS offers",
                                 f"use one of {', '.join(map(str, majors))} ({msrc})"))
    lo, hi = limits.RDS_STORAGE_GIB[(engine, storage)]
    if not lo <= p.storage_gb <= hi:
        out.append(t.problem(f"{p.key}.storage_gb", f"{p.storage_gb} GiB is outside what RDS allocates for "
                             f"PostgreSQL on {storage}", f"use {lo}-{hi} GiB ({limits.RDS_STORAGE_SOURCE})"))
    env = dict(s.env)
    for var, rule, what in (("POSTGRES_DB", "postgres_db_name", "database name"),
                            ("POSTGRES_USER", "master_username", "master user name")):
        pattern, src = rules[rule]
        value = env.get(var, t.project)
        if not pattern.match(value):
            fix = re.sub(r"[^A-Za-z0-9_]", "_", value)
            fix = (fix if fix[:1].isalpha() else f"db{fix}")[:16 if rule == "master_username" else 63]
            if var in env:
                out.append(t.problem(f"{s.key}.env.{var}", f"'{value}' is not a valid RDS {what}", f"e.g. {fix} ({src})"))
            else:
                out.append(t.problem("project", f"the RDS {what} '{value}' (the project, as {var} is not set) is not valid",
                                     f"set {var} in the env of {s.name}, e.g. {fix} ({src})"))
    (lo, hi), src = rules["port"]
    if s.ports and not lo <= s.ports[0].port <= hi:
        out.append(t.problem(f"{s.ports[0].key}.port", f"RDS does not listen on port {s.ports[0].port}",
                             f"use a port in {lo}-{hi}, e.g. 5432 ({src})"))
    return out
