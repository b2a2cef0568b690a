"""Static parity: what two targets' artifacts say about each service, side by side.

Each target's rendering is read back into one neutral view per service (image, env, secret names, ports,
hardening, resources). Differences are then classified: explained (a hostname; a declared placement outside the
target; something the target declares it cannot represent; a size snapped to the target's grid) or unexplained.
Any unexplained difference is a parity failure.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from harness.model import Topology, is_host_valued
from harness.targets import TARGETS, UNREPRESENTABLE, Rendering, View


@dataclass
class Row:
    service: str
    aspect: str
    a: str
    b: str
    verdict: str  # same | explained | DIFFERENT
    why: str = ""


def views(r: Rendering, t: Topology) -> dict[str, View]:
    """The target's own read-back of its rendering (each host module defines `views`)."""
    return TARGETS[r.target]().views(r, t)


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
            key = TARGETS[missing].placement_key  # the topology places a service on this host under placement.KEY
            unplaced = key is not None and key not in s.placement
            rows.append(Row(s.name, "present", "no" if x is None else "yes", "no" if y is None else "yes",
                            "explained" if unplaced else "DIFFERENT",
                            f"not placed on {missing}" if unplaced else f"{missing} dropped it"))
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
