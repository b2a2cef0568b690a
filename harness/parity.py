"""Static parity: what two targets' artifacts say about each service, side by side.

Each target's rendering is read back into one neutral view per service (image, env, secret names, ports,
hardening, resources). Differences are then classified: explained (a hostname; a declared placement outside the
target; something the target declares it cannot represent; a size snapped to the target's grid) or unexplained.
Any unexplained difference is a parity failure.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from harness.model import Topology, is_host_valued
from harness.targets import Rendering

UNREPRESENTABLE = object()  # the target cannot express this field at all


@dataclass
class View:
    present: bool = True
    managed: str = ""  # e.g. "RDS postgres 16.4" or "external: firebase.deml.internal"
    image: str = ""
    env: dict = field(default_factory=dict)
    command: list = field(default_factory=list)
    secrets: set = field(default_factory=set)
    ports: set = field(default_factory=set)
    hardening: object = None  # tuple or UNREPRESENTABLE
    resources: object = None  # (vcpu, MiB) or UNREPRESENTABLE


@dataclass
class Row:
    service: str
    aspect: str
    a: str
    b: str
    verdict: str  # same | explained | DIFFERENT
    why: str = ""


def _compose_views(r: Rendering) -> dict[str, View]:
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


def _aws_views(r: Rendering, t: Topology) -> dict[str, View]:
    out: dict[str, View] = {}
    for name, c in r.data.get("lightsail", {}).get("containers", {}).items():
        env = dict(c.get("environment", {}))
        secret_vars = {k for k, v in env.items() if str(v).startswith("{{secret:")}
        for k in secret_vars:
            env.pop(k)
        out[name] = View(image=c["image"], env=env, command=list(c.get("command", [])), secrets=secret_vars, ports={int(p) for p in c.get("ports", {})},
                         hardening=UNREPRESENTABLE, resources=UNREPRESENTABLE)
    for name, task in r.data.get("ecs", {}).items():
        c = task["containerDefinitions"][0]
        hard = (c.get("user", ""), bool(c.get("readonlyRootFilesystem")),
                tuple(c.get("linuxParameters", {}).get("capabilities", {}).get("drop", [])))
        out[name] = View(image=c["image"], command=list(c.get("command", [])), env={e["name"]: e["value"] for e in c.get("environment", [])},
                         secrets={s["name"] for s in c.get("secrets", [])},
                         ports={p["containerPort"] for p in c.get("portMappings", [])}, hardening=hard,
                         resources=(int(task["cpu"]) / 1024, int(task["memory"])))
    if "rds" in r.data:
        rds = r.data["rds"]
        for s in t.group("rds"):
            out[s.name] = View(managed=f"RDS {rds['Engine']} {rds['EngineVersion']} ({rds['DBInstanceClass']})")
    for s in t.group("external"):
        out[s.name] = View(managed=f"outside AWS at {s.placement['aws'].host}")
    return out


def _aws_emulation_views(r: Rendering, t: Topology) -> dict[str, View]:
    out = _compose_views(r)
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


def views(r: Rendering, t: Topology) -> dict[str, View]:
    if r.target == "compose":
        return _compose_views(r)
    if r.target == "aws-emulation":
        return _aws_emulation_views(r, t)
    if r.target == "aws":
        return _aws_views(r, t)
    raise ValueError(f"no parity view for target {r.target}")


def _fmt(value) -> str:
    if value is UNREPRESENTABLE:
        return "(cannot express)"
    if isinstance(value, set):
        return ", ".join(sorted(map(str, value))) or "-"
    if isinstance(value, tuple):
        return " / ".join(str(v) for v in value) if value else "-"
    return "-" if value in (None, "") else str(value)


def compare(t: Topology, a: Rendering, b: Rendering) -> list[Row]:
    va, vb = views(a, t), views(b, t)
    rows: list[Row] = []
    for s in t.services:
        x, y = va.get(s.name), vb.get(s.name)
        if x is None or y is None:
            missing = a.target if x is None else b.target
            rows.append(Row(s.name, "present", "no" if x is None else "yes", "no" if y is None else "yes",
                            "explained" if "aws" not in s.placement else "DIFFERENT",
                            f"not placed on {missing}" if "aws" not in s.placement else f"{missing} dropped it"))
            continue
        if x.managed or y.managed:
            rows.append(Row(s.name, "runs as", x.managed or x.image, y.managed or y.image, "explained",
                            "placement declared in topology.yaml"))
            continue
        topo_env = dict(s.env)

        def add(aspect, av, bv, explain=""):
            if av == bv:
                rows.append(Row(s.name, aspect, _fmt(av), _fmt(bv), "same"))
            elif av is UNREPRESENTABLE or bv is UNREPRESENTABLE:
                rows.append(Row(s.name, aspect, _fmt(av), _fmt(bv), "explained",
                                f"{a.target if av is UNREPRESENTABLE else b.target} cannot express it (declared)"))
            else:
                rows.append(Row(s.name, aspect, _fmt(av), _fmt(bv), "explained" if explain else "DIFFERENT", explain))

        add("image", x.image, y.image)
        add("env names", set(x.env), set(y.env))
        for var in sorted(set(x.env) & set(y.env)):
            if x.env[var] != y.env[var]:
                host = is_host_valued(topo_env.get(var, ""))
                rows.append(Row(s.name, f"env {var}", x.env[var], y.env[var], "explained" if host else "DIFFERENT",
                                "hostname" if host else "only host-valued variables may differ"))
        if len(x.command) != len(y.command):
            add("command", " ".join(x.command), " ".join(y.command))
        else:
            for i, (ca, cb) in enumerate(zip(x.command, y.command)):
                if ca != cb:
                    host = is_host_valued(s.command[i]) if i < len(s.command) else False
                    rows.append(Row(s.name, f"command[{i}]", ca, cb, "explained" if host else "DIFFERENT",
                                    "hostname" if host else "only host-valued arguments may differ"))
        add("secret names", x.secrets, y.secrets)
        add("ports", x.ports, y.ports)
        add("hardening (user / read-only / cap_drop)", x.hardening, y.hardening)
        if isinstance(x.resources, tuple) and isinstance(y.resources, tuple) and x.resources != y.resources:
            snapped = y.resources[0] >= x.resources[0] and y.resources[1] >= x.resources[1]
            add("resources (vCPU / MiB)", x.resources, y.resources,
                f"snapped up to a {b.target} size" if snapped else "")
        else:
            add("resources (vCPU / MiB)", x.resources, y.resources)
    for topic in t.topics:
        rows.append(Row("(bootstrap)", f"topic {topic.name}", f"{topic.partitions} partitions",
                        f"{topic.partitions} partitions", "same", "created by topo's bootstrap from topology.yaml"))
    return rows


def report(rows: list[Row]) -> dict:
    return {"rows": [asdict(r) for r in rows],
            "different": sum(r.verdict == "DIFFERENT" for r in rows),
            "explained": sum(r.verdict == "explained" for r in rows),
            "same": sum(r.verdict == "same" for r in rows)}
