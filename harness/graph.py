"""Diagrams of a topology, one per host: Mermaid text, and SVG laid out by Graphviz `dot`.

A diagram is data first (`Diagram`: boxes for a host's boundaries, a node per service, an edge per env reference
consumer → provider, labelled with the variables) and then text: `mermaid()` for GitHub Markdown, `svg()` through
Graphviz's `dot`, which places the boxes, routes the edges around nodes and labels and sizes the text itself
(a hand layout drew edges through boxes). The boundaries per host:

- compose: one Docker network on the developer's machine, published ports on 127.0.0.1;
- aws: the Lightsail pod (one network namespace: localhost), Fargate tasks (Service Connect names), RDS, and what
  lives outside AWS, from `placement.aws`;
- railway: one Railway project + environment, each service reached at `<service>.railway.internal`, its volume
  attached, a public domain (HTTP) or TCP proxy for what the topology publishes;
- cloudrun: one box per Cloud Run service holding its instance's containers (the ingress container and its
  sidecars share localhost), the hosts off Cloud Run by kind (Cloud SQL, Compute Engine, Memorystore, Firebase)
  under their private DNS names, and the internet reaching the services with `ingress: all`; what the rendering
  refused (it does not fit Cloud Run) in a box of its own. Read from the Cloud Run rendering, not re-derived.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape

from harness.errors import CommandError, TopoError
from harness.model import Service, Topology, references

HOSTS = ("compose", "aws", "railway", "cloudrun")
DOT_HINT = ("install Graphviz (Debian/Ubuntu: apt-get install --no-install-recommends graphviz; `make graph-deps` "
            "does it as root), or use --format mermaid")

# AWS boundaries in drawing order; (placement kind, box title) — the Lightsail title names the service and power.
AWS_BOUNDARIES = [
    ("lightsail", "Lightsail container service (one pod: localhost)"),
    ("fargate", "ECS Fargate tasks (Service Connect names)"),
    ("rds", "Amazon RDS"),
    ("external", "Outside AWS"),
    ("", "Not placed on AWS"),
]


def edges(t: Topology) -> dict[tuple[str, str], list[str]]:
    """(consumer, provider) → the variables (or command arguments) of the consumer that reference the provider."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s in t.services:
        for var, value in list(s.env) + [(f"command[{i}]", c) for i, c in enumerate(s.command)]:
            for _, svc, _ in references(value):
                if svc and svc != s.name and t.service(svc) is not None and var not in out[(s.name, svc)]:
                    out[(s.name, svc)].append(var)
    return dict(out)


# ---- the diagram as data -----------------------------------------------------------------------------------------

@dataclass
class Node:
    id: str
    title: str
    lines: tuple[str, ...] = ()
    kind: str = "service"  # service | volume | outside | endpoint


@dataclass
class Box:
    """A boundary: a title (its first line is what tests and readers look for), the nodes and boxes inside."""
    id: str
    title: str
    detail: str = ""
    nodes: list[str] = field(default_factory=list)
    boxes: list["Box"] = field(default_factory=list)
    row: bool = False  # its nodes side by side (one rank)


@dataclass
class Edge:
    a: str
    b: str
    label: str
    kind: str = "env"  # env | ingress | volume


@dataclass
class Diagram:
    host: str
    title: str
    nodes: dict[str, Node]
    boxes: list[Box]
    edges: list[Edge]
    above: list[tuple[str, str]] = field(default_factory=list)  # (node, box id): the node drawn above the box

    def box_titles(self) -> list[str]:
        def walk(boxes):
            for b in boxes:
                yield b.title
                yield from walk(b.boxes)
        return list(walk(self.boxes))


def _service_node(s: Service, where: str) -> Node:
    return Node(f"svc_{s.name}", s.name, (f"{s.role} · {s.image.ref}", where))


def _ports(s: Service) -> str:
    return ", ".join(f"{p.name} {p.port}" for p in s.ports)


def _env_edges(t: Topology) -> list[Edge]:
    return [Edge(f"svc_{a}", f"svc_{b}", ", ".join(sorted(names)), "env") for (a, b), names in sorted(edges(t).items())]


def diagram(t: Topology, host: str = "aws") -> Diagram:
    """The host's view of the topology: its boundaries, the services inside them, the edges between them."""
    if host not in HOSTS:
        raise TopoError(f"unknown host '{host}' for a graph; hosts: {', '.join(HOSTS)}")
    return {"compose": _compose, "aws": _aws, "railway": _railway, "cloudrun": _cloudrun}[host](t)


def _compose(t: Topology) -> Diagram:
    nodes = {f"svc_{s.name}": _service_node(s, f"{s.name}: {_ports(s)}") for s in t.services}
    network = Box("network", f"Docker network {t.project}_default",
                  "each service reached by its name", nodes=list(nodes))
    machine = Box("machine", "Developer's machine", "published ports on 127.0.0.1 only", boxes=[network])
    out = _env_edges(t)
    published = [s for s in t.services if any(p.publish for p in s.ports)]
    if published:
        nodes["loopback"] = Node("loopback", "127.0.0.1", ("browser, clients, tests",), "outside")
        machine.nodes.insert(0, "loopback")
        for s in published:
            out.append(Edge("loopback", f"svc_{s.name}",
                            ", ".join(f":{p.port}" for p in s.ports if p.publish), "ingress"))
    volumes = [(s, v) for s in t.services for v in s.volumes]
    for s, v in volumes:
        vid = f"vol_{v.name}"
        nodes[vid] = Node(vid, v.name, ("named volume",), "volume")
        machine.nodes.append(vid)
        out.append(Edge(f"svc_{s.name}", vid, v.path, "volume"))
    above = [("loopback", "network")] if "loopback" in nodes else []
    return Diagram("compose", f"{t.project} on docker compose", nodes, [machine], out, above)


def _aws(t: Topology) -> Diagram:
    from harness.targets.aws import host_for  # the hostnames the AWS rendering writes

    groups: dict[str, list[Service]] = defaultdict(list)
    for s in t.services:
        p = s.placement.get("aws")
        groups[p.kind if p else ""].append(s)
    nodes: dict[str, Node] = {}
    boxes: dict[str, Box] = {}
    ls = t.aws.lightsail
    for kind, title in AWS_BOUNDARIES:
        if not groups.get(kind):
            continue
        detail = ""
        if kind == "lightsail" and ls:
            title = f"Lightsail {ls.service} ({ls.power} × {ls.scale}; one pod: localhost)"
            detail = "containers of one deployment share a network namespace"
        elif kind == "fargate":
            detail = f"cluster {t.aws.ecs_cluster}; names NAME.{t.aws.namespace}"
        elif kind == "rds":
            detail = t.aws.rds_identifier or "DB instance"
        boxes[kind] = Box(kind or "unplaced", title, detail)
        for s in groups[kind]:
            host = host_for(t, s, s)
            nodes[f"svc_{s.name}"] = _service_node(s, f"{host}: {_ports(s)}")
            boxes[kind].nodes.append(f"svc_{s.name}")
    inside = [boxes[k] for k in ("lightsail", "fargate", "rds") if k in boxes]
    top = []
    if inside:
        peering = " (VPC peering on)" if ls and ls.vpc_peering else ""
        top.append(Box("aws", f"AWS {t.aws.region}", f"account {t.aws.account_id}{peering}", boxes=inside))
    top += [boxes[k] for k in ("external", "") if k in boxes]
    out = _env_edges(t)
    if ls and ls.public_container and f"svc_{ls.public_container}" in nodes:
        nodes["internet"] = Node("internet", "internet", ("HTTPS",), "outside")
        port = t.service(ls.public_container).port(ls.public_port)
        out.append(Edge("internet", f"svc_{ls.public_container}",
                        f"public endpoint → :{port.port if port else ls.public_port}", "ingress"))
    above = [("internet", "lightsail")] if "internet" in nodes and "lightsail" in boxes else []
    return Diagram("aws", f"{t.project} on AWS", nodes, top, out, above)


def _railway(t: Topology) -> Diagram:
    # the optional `railway:` block (plan, placement.railway.public) is shown when the model has it; without it
    # the view is derived from the generic model: published ports become public, HTTP ones on a domain
    plan = getattr(t, "railway", None)
    project = getattr(plan, "project", "") or t.project
    environment = getattr(plan, "environment", "") or "production"
    network = getattr(plan, "private_network", "")
    nodes = {f"svc_{s.name}": _service_node(s, f"{s.name}.railway.internal: {_ports(s)}") for s in t.services}
    box = Box("railway", f"Railway project {project} · environment {environment}",
              "private network: SERVICE.railway.internal" + (f" ({network})" if network else ""), nodes=list(nodes))
    out = _env_edges(t)
    for s in t.services:
        for i, v in enumerate(s.volumes):
            vid = f"vol_{v.name}"
            extra = "" if i == 0 else " — Railway allows one volume per service"
            nodes[vid] = Node(vid, v.name, (f"volume {v.size or ''}{extra}".strip(),), "volume")
            box.nodes.append(vid)
            out.append(Edge(f"svc_{s.name}", vid, v.path, "volume"))
    public = Box("public", "Railway public networking", "per service: one generated domain (HTTPS), one TCP proxy",
                 row=True)
    for s in t.services:
        http, tcp = _railway_public(t, s)
        if not http and not tcp:
            continue
        lines = ([f"domain (HTTPS) → {http[0].name} {http[0].port}"] if http else []) + \
                ([f"TCP proxy → {tcp[0].name} {tcp[0].port}"] if tcp else [])
        rest = [f"{p.name} {p.port}" for p in http[1:] + tcp[1:]]
        if rest:
            lines.append(f"not public: {', '.join(rest)}")
        pid = f"pub_{s.name}"
        nodes[pid] = Node(pid, f"{s.name} public", tuple(lines), "endpoint")
        public.nodes.append(pid)
        out.append(Edge(pid, f"svc_{s.name}", ", ".join(f":{p.port}" for p in http[:1] + tcp[:1]), "ingress"))
    if not public.nodes:
        return Diagram("railway", f"{t.project} on Railway", nodes, [box], out)
    return Diagram("railway", f"{t.project} on Railway", nodes, [public, box], out, [(public.nodes[0], box.id)])


def _railway_public(t: Topology, s: Service) -> tuple[list, list]:
    """The ports a service offers on a public domain (HTTP) and on a TCP proxy."""
    declared = getattr(getattr(t, "railway", None), "declared", False)
    placed = getattr(s.placement.get("railway"), "public", None)
    if declared or placed is not None:
        public = dict(placed or {})
        ports = [p for p in s.ports if p.name in public]
        return [p for p in ports if public[p.name] == "http"], [p for p in ports if public[p.name] != "http"]
    return ([p for p in s.ports if p.publish and p.protocol == "http"],
            [p for p in s.ports if p.publish and p.protocol != "http"])


def _cloudrun(t: Topology) -> Diagram:
    from harness.targets.cloudrun import CloudRunTarget, private_host, url_host

    data = CloudRunTarget().render(t).data["cloudrun"]  # what the rendering placed, after its own rules
    nodes: dict[str, Node] = {}
    runs: list[Box] = []
    public: list[tuple[Service, str]] = []
    for name, doc in data["services"].items():
        spec = doc["spec"]["template"]["spec"]
        notes = doc["spec"]["template"]["metadata"]["annotations"]
        containers = [c["name"] for c in spec["containers"]]
        port = spec["containers"][0]["ports"][0]["containerPort"]
        detail = (f"instances {notes.get('autoscaling.knative.dev/minScale', '0')}–"
                  f"{notes.get('autoscaling.knative.dev/maxScale', '100')} · concurrency {spec.get('containerConcurrency')}"
                  f" · timeout {spec.get('timeoutSeconds')} s · "
                  + ("CPU always allocated" if notes.get("run.googleapis.com/cpu-throttling") == "false"
                     else "CPU only during requests"))
        box = Box(f"run_{name}", f"Cloud Run service {name} (one instance: localhost shared)", detail)
        for c in containers:
            svc = t.service(c)
            where = f"{url_host(t, svc)} → :{port}" if c == name else f"sidecar: localhost {_ports(svc)}"
            nodes[f"svc_{c}"] = _service_node(svc, where)
            box.nodes.append(f"svc_{c}")
        runs.append(box)
        ingress = doc["metadata"].get("annotations", {}).get("run.googleapis.com/ingress", "")
        if ingress == "all":
            public.append((t.service(name), url_host(t, t.service(name))))
    kinds: dict[str, Box] = {}
    for name, off in data["off_cloud_run"].items():
        kind = off["host"]
        if kind not in kinds:
            kinds[kind] = Box(f"off_{kind.replace('-', '_')}", {"cloud-sql": "Cloud SQL", "compute-engine":
                              "Compute Engine VMs", "memorystore": "Memorystore", "firebase": "Firebase"}.get(kind, kind),
                              "reached over Direct VPC egress" if kind != "firebase" else "Google's own service")
        svc = t.service(name)
        nodes[f"svc_{name}"] = _service_node(svc, f"{private_host(t, svc)}: {_ports(svc)}")
        kinds[kind].nodes.append(f"svc_{name}")
    left = [s for s in t.services if f"svc_{s.name}" not in nodes]
    vpc = [b for k, b in kinds.items() if k != "firebase"]
    defaults = "" if t.cloudrun.declared else " (defaults: the topology has no `cloudrun:` block)"
    top = [Box("gcp", f"Google Cloud project {t.cloudrun.project or t.project} · {t.cloudrun.region}",
               f"VPC {t.cloudrun.network}/{t.cloudrun.subnetwork} (Direct VPC egress); "
               f"private DNS {t.cloudrun.private_dns or (t.cloudrun.project or t.project) + '.internal'}{defaults}",
               boxes=runs + vpc)] if runs or vpc else []
    top += [kinds["firebase"]] if "firebase" in kinds else []
    if left:
        top.append(Box("refused", "Not on Cloud Run (the rendering refused it: see `topo render` notes)",
                       nodes=[f"svc_{s.name}" for s in left]))
        for s in left:
            nodes[f"svc_{s.name}"] = _service_node(s, "not rendered")
    out = _env_edges(t)
    if public:
        nodes["internet"] = Node("internet", "internet", ("HTTPS",), "outside")
        for s, host in public:
            out.append(Edge("internet", f"svc_{s.name}", f"https://{host}", "ingress"))
    above = [("internet", f"run_{public[0][0].name}")] if public else []
    return Diagram("cloudrun", f"{t.project} on Cloud Run", nodes, top, out, above)


# ---- Mermaid -----------------------------------------------------------------------------------------------------

def mermaid(t: Topology, host: str = "aws") -> str:
    d = diagram(t, host)
    lines = ["flowchart LR"]

    def box(b: Box, indent: str) -> None:
        lines.append(f'{indent}subgraph {b.id}["{b.title}"]')
        for nid in b.nodes:
            lines.append(f"{indent}  {_mermaid_node(d.nodes[nid])}")
        for inner in b.boxes:
            box(inner, indent + "  ")
        lines.append(f"{indent}end")

    for b in d.boxes:
        box(b, "  ")
    placed = {n for b in _all_boxes(d.boxes) for n in b.nodes}
    for nid, n in d.nodes.items():
        if nid not in placed:
            lines.append(f"  {_mermaid_node(n)}")
    for e in d.edges:
        label = e.label if len(e.label) <= 40 else f"{e.label.count(',') + 1} variables"
        arrow = "-.->" if e.kind == "volume" else "-->"
        lines.append(f'  {_mermaid_id(e.a)} {arrow}|"{label}"| {_mermaid_id(e.b)}')
    return "\n".join(lines) + "\n"


def _mermaid_id(nid: str) -> str:
    return re.sub(r"^svc_", "", nid).replace("-", "_")


def _mermaid_node(n: Node) -> str:
    text = "<br/>".join([n.title, *(escape(x) for x in n.lines[:1])])
    if n.kind == "outside":
        return f'{_mermaid_id(n.id)}(("{n.title}"))'
    if n.kind == "volume":
        return f'{_mermaid_id(n.id)}[("{text}")]'
    return f'{_mermaid_id(n.id)}["{text}"]'


def _all_boxes(boxes: list[Box]):
    for b in boxes:
        yield b
        yield from _all_boxes(b.boxes)


# ---- Graphviz ----------------------------------------------------------------------------------------------------

NODE_STYLE = {
    "service": 'shape=box style="rounded,filled" fillcolor="#eef4ff" color="#3366cc"',
    "volume": 'shape=cylinder style=filled fillcolor="#f4f4f4" color="#888888"',
    "outside": 'shape=ellipse style=filled fillcolor="#fff7e0" color="#cc9933"',
    "endpoint": 'shape=box style="rounded,filled" fillcolor="#fff7e0" color="#cc9933"',
}
EDGE_STYLE = {
    "env": 'color="#7f8fa6" fontcolor="#444444"',
    "ingress": 'color="#cc9933" fontcolor="#8a6414" penwidth=1.4',
    "volume": 'color="#999999" fontcolor="#666666" style=dashed arrowhead=none',
}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dot_source(t: Topology, host: str = "aws") -> str:
    """The diagram in Graphviz's language: boxes are clusters, ids are carried into the SVG."""
    d = diagram(t, host)
    incoming: dict[str, set[str]] = defaultdict(set)
    for e in d.edges:
        if e.kind == "env":
            incoming[e.b].add(e.label)
    said = {nid: labels.pop() for nid, labels in incoming.items() if len(labels) == 1}
    out = [f"digraph {_q(d.title)} {{",
           '  graph [rankdir=TB newrank=true nodesep=0.3 ranksep=0.6 pad=0.3 fontname="Helvetica" fontsize=11 '
           f'labeljust=l id="graph"]',
           '  node [fontname="Helvetica" fontsize=10 margin="0.12,0.06"]',
           '  edge [fontname="Helvetica" fontsize=8 arrowsize=0.6]']

    def node(nid: str, indent: str) -> None:
        n = d.nodes[nid]
        lines = list(n.lines) + ([f"← {said[nid]}"] if nid in said else [])
        rows = [f"<B>{escape(n.title)}</B>"] + [f'<FONT POINT-SIZE="8" COLOR="#555555">{escape(x)}</FONT>'
                                                 for x in lines]
        out.append(f'{indent}{_q(nid)} [id={_q(nid)} {NODE_STYLE[n.kind]} label=<{"<BR/>".join(rows)}>]')

    def box(b: Box, indent: str) -> None:
        # The title is a node, not the cluster's label: dot routes edges around nodes but not around cluster
        # labels. Invisible edges put it above everything else in its box.
        label = f"<B>{escape(b.title)}</B>"
        if b.detail:
            label += f'<BR ALIGN="LEFT"/><FONT POINT-SIZE="9" COLOR="#555555">{escape(b.detail)}</FONT>'
        title = f"title_{b.id}"
        out.append(f"{indent}subgraph {_q('cluster_' + b.id)} {{")
        out.append(f'{indent}  graph [id={_q("box_" + b.id)} label="" style="rounded,dashed" color="#888888" margin=10]')
        out.append(f'{indent}  {_q(title)} [id={_q(title)} shape=box color=transparent margin="0.04,0.02" fontsize=11 label=<{label}<BR ALIGN="LEFT"/>>]')
        for nid in b.nodes:
            node(nid, indent + "  ")
            out.append(f"{indent}  {_q(title)} -> {_q(nid)} [style=invis]")
        if b.row and b.nodes:
            out.append(f"{indent}  {{rank=same; {'; '.join(_q(n) for n in b.nodes)}}}")
        for inner in b.boxes:
            box(inner, indent + "  ")
            out.append(f"{indent}  {_q(title)} -> {_q('title_' + inner.id)} [style=invis]")
        out.append(f"{indent}}}")

    placed = {n for b in _all_boxes(d.boxes) for n in b.nodes}
    for nid in d.nodes:  # first: dot's initial order then tends to keep them at the left, off the boxes
        if nid not in placed:
            node(nid, "  ")
    for b in d.boxes:
        box(b, "  ")
    for e in d.edges:
        eid = f"edge_{e.a}__{e.b}"
        # a provider reached by the same variables from every consumer says them once, in its own box; so does a
        # public endpoint say its port
        label = "" if e.kind == "env" and e.b in said or d.nodes[e.a].kind == "endpoint" else \
            e.label.replace(", ", "\n")
        tip = f"{d.nodes[e.a].title} → {d.nodes[e.b].title}: {e.label}"
        out.append(f"  {_q(e.a)} -> {_q(e.b)} [id={_q(eid)} {EDGE_STYLE[e.kind]} label={_q(label)} "
                   f"tooltip={_q(tip)}]")
    for nid, bid in d.above:
        out.append(f"  {_q(nid)} -> {_q('title_' + bid)} [style=invis]")
    out.append("}")
    return "\n".join(out) + "\n"


def dot_binary() -> str:
    path = shutil.which("dot")
    if not path:
        raise TopoError(f"Graphviz `dot` is not installed; it lays out `topo graph --format svg`. Hint: {DOT_HINT}")
    return path


def dot_version() -> str:
    run = subprocess.run([dot_binary(), "-V"], capture_output=True, text=True, check=False)
    m = re.search(r"version (\S+)", run.stderr + run.stdout)
    return m[1] if m else "unknown"


def layout(source: str, fmt: str = "svg") -> bytes:
    """Run `dot -T<fmt>` on DOT source (svg for topo; png to look at a picture)."""
    cmd = [dot_binary(), f"-T{fmt}"]
    run = subprocess.run(cmd, input=source.encode(), capture_output=True, check=False)
    if run.returncode != 0:
        raise CommandError(cmd, run.returncode, run.stdout.decode(errors="replace"),
                           run.stderr.decode(errors="replace"), hint=DOT_HINT)
    return run.stdout


def svg(t: Topology, host: str = "aws") -> str:
    """The host's diagram as SVG laid out by Graphviz, with a comment saying how it was made."""
    text = layout(dot_source(t, host)).decode()
    # an XML comment may not hold two hyphens in a row: no option names here
    header = (f"<!-- Generated by topo graph from {t.file.rsplit('/', 1)[-1]} for host {host} with Graphviz dot "
              f"{dot_version()}; do not edit by hand (regenerate: make graphs). -->\n")
    at = text.find("<svg")
    return text[:at] + header + text[at:]
