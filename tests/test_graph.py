"""`topo graph` per host: what the SVG laid out by Graphviz shows (every service, every boundary, every env
reference, in the right box, no edge through a title or a node), the Mermaid text, and the committed pictures.

Graphviz `dot` is installed by `make graph-deps` (part of `make provision`); without it the SVG tests skip on a
workstation and FAIL in CI (CI=true), where they must run.
"""
from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

import pytest

from harness import graph
from harness.errors import TopoError
from harness.loader import load
from harness.model import Topology, freeze
from tests.conftest import ROOT

FARGATE = "ECS Fargate tasks (Service Connect names)"


# ---- reading the picture back: boxes, nodes, edge curves -------------------------------------------------------

NS = "{http://www.w3.org/2000/svg}"
NUM = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass
class Rect:
    x0: float
    y0: float
    x1: float
    y1: float

    def contains(self, x: float, y: float, inset: float = 0.0) -> bool:
        return self.x0 + inset < x < self.x1 - inset and self.y0 + inset < y < self.y1 - inset

    def inside(self, other: "Rect") -> bool:
        return other.x0 <= self.x0 and self.x1 <= other.x1 and other.y0 <= self.y0 and self.y1 <= other.y1

    @property
    def area(self) -> float:
        return (self.x1 - self.x0) * (self.y1 - self.y0)


@dataclass
class Picture:
    boxes: dict[str, tuple[Rect, list[str], Rect]]  # id → (outline, title lines, where the title is drawn)
    nodes: dict[str, tuple[Rect, list[str]]]  # id → (outline, text lines)
    edges: dict[str, list[tuple[float, float]]]  # id → points sampled along the curve
    edge_tips: dict[str, str]


def _rect(points: list[float]) -> Rect:
    xs, ys = points[0::2], points[1::2]
    return Rect(min(xs), min(ys), max(xs), max(ys))


def _outline(g) -> Rect:
    for el in g.iter():
        if el.tag in (NS + "path", NS + "polygon", NS + "ellipse"):
            if el.tag == NS + "ellipse":
                cx, cy, rx, ry = (float(el.get(k)) for k in ("cx", "cy", "rx", "ry"))
                return Rect(cx - rx, cy - ry, cx + rx, cy + ry)
            return _rect([float(v) for v in NUM.findall(el.get("d") or el.get("points"))])
    raise AssertionError(f"no outline in {g.get('id')}")


def _text_rect(texts) -> Rect:
    """Where text is drawn: from its baseline and font size, with a generous average glyph width."""
    rects = []
    for t in texts:
        size, x, y = float(t.get("font-size")), float(t.get("x")), float(t.get("y"))
        w = 0.6 * size * len(t.text or "")
        x0 = {"start": x, "middle": x - w / 2, "end": x - w}[t.get("text-anchor", "start")]
        rects.append(Rect(x0, y - 0.8 * size, x0 + w, y + 0.25 * size))
    return Rect(min(r.x0 for r in rects), min(r.y0 for r in rects), max(r.x1 for r in rects), max(r.y1 for r in rects))


def _bezier(d: str, samples: int = 24) -> list[tuple[float, float]]:
    nums = [float(v) for v in NUM.findall(d)]
    pts = list(zip(nums[0::2], nums[1::2]))
    out = [pts[0]]
    for i in range(0, len(pts) - 3, 3):
        p0, p1, p2, p3 = pts[i:i + 4]
        for k in range(1, samples + 1):
            s = k / samples
            a, b, c, e = (1 - s) ** 3, 3 * s * (1 - s) ** 2, 3 * s * s * (1 - s), s ** 3
            out.append((a * p0[0] + b * p1[0] + c * p2[0] + e * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + e * p3[1]))
    return out


def read(svg_text: str) -> Picture:
    """Boxes (with their titles), nodes and sampled edge curves of a Graphviz SVG."""
    root = ET.fromstring(svg_text)
    boxes, nodes, edges, tips, titles = {}, {}, {}, {}, {}
    for g in root.iter(NS + "g"):
        kind, gid = g.get("class"), g.get("id")
        texts = [t for t in g.iter(NS + "text")]
        if kind == "cluster":
            boxes[gid] = (_outline(g), [t.text for t in texts], _text_rect(texts) if texts else None)
        elif kind == "node" and gid.startswith("title_"):  # a box's title, drawn as a node of its own
            titles[gid.removeprefix("title_")] = ([t.text for t in texts], _outline(g))
        elif kind == "node":
            nodes[gid] = (_outline(g), [t.text for t in texts])
        elif kind == "edge":
            path = next(g.iter(NS + "path"))
            edges[gid] = _bezier(path.get("d"))
            a = next((el for el in g.iter(NS + "a")), None)
            tips[gid] = a.get("{http://www.w3.org/1999/xlink}title", "") if a is not None else ""
    for bid, (outline, lines, rect) in list(boxes.items()):
        if not lines and bid.removeprefix("box_") in titles:
            boxes[bid] = (outline, *titles[bid.removeprefix("box_")])
    return Picture(boxes, nodes, edges, tips)


def box_of(pic: Picture, node_id: str) -> str:
    """The title (first line) of the innermost box a node is drawn in; '' when it is in none."""
    rect = pic.nodes[node_id][0]
    holding = [(outline.area, lines[0]) for outline, lines, _ in pic.boxes.values() if rect.inside(outline)]
    return min(holding)[1] if holding else ""


def crossings(pic: Picture) -> list[str]:
    """Each edge that runs through a box's title or through a node it does not start or end at."""
    out = []
    for eid, pts in pic.edges.items():
        for bid, (_, lines, title) in pic.boxes.items():
            if any(title.contains(x, y) for x, y in pts):
                out.append(f"{eid} crosses the title of {bid} ({lines[0]})")
        ends = eid.removeprefix("edge_").split("__")
        for nid, (rect, _) in pic.nodes.items():
            if nid not in ends and any(rect.contains(x, y, inset=1.0) for x, y in pts):
                out.append(f"{eid} crosses node {nid}")
    return out


# ---- the tests ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def topology() -> Topology:
    return load(ROOT / "topology.yaml")[0]


@pytest.fixture
def dot():
    """Graphviz must be there: a skip on a workstation, a failure in CI."""
    if shutil.which("dot") is None:
        reason = "Graphviz `dot` is not installed (make graph-deps)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason}; CI=true: the graph tests must run in CI", pytrace=False)
        pytest.skip(reason)


def picture(t: Topology, host: str) -> Picture:
    return read(graph.svg(t, host))


def assert_drawn_in(pic: Picture, service: str, title: str) -> None:
    where = box_of(pic, f"svc_{service}")
    assert where == title, f"{service} is drawn in {where!r}, not in {title!r}"


def moved(t: Topology, service: str, kind: str) -> Topology:
    """`service` with placement.aws changed to `kind`."""
    def move(s):
        if s.name != service:
            return s
        return replace(s, placement=freeze({**s.placement, "aws": replace(s.placement["aws"], kind=kind)}))
    return replace(t, services=tuple(move(s) for s in t.services))


@pytest.mark.parametrize("host", graph.HOSTS)
def test_svg_shows_every_service_boundary_and_reference(topology, dot, host):
    pic = picture(topology, host)
    for s in topology.services:
        assert f"svc_{s.name}" in pic.nodes, f"{host}: no node for {s.name}"
        assert s.name in pic.nodes[f"svc_{s.name}"][1]
    titles = [lines[0] for _, lines, _ in pic.boxes.values()]
    assert sorted(titles) == sorted(graph.diagram(topology, host).box_titles())
    for (a, b), names in graph.edges(topology).items():
        eid = f"edge_svc_{a}__svc_{b}"
        assert eid in pic.edges, f"{host}: no edge {a} → {b}"
        assert all(n in pic.edge_tips[eid] for n in names), pic.edge_tips[eid]


@pytest.mark.parametrize("host", graph.HOSTS)
def test_no_edge_runs_through_a_title_or_a_node(topology, dot, host):
    pic = picture(topology, host)
    assert crossings(pic) == []
    for bid, (outline, lines, title) in pic.boxes.items():
        assert title.inside(outline), f"the title of {bid} ({lines[0]}) is drawn outside its box"


def test_aws_boxes_follow_placement(topology, dot):
    pic = picture(topology, "aws")
    ls = topology.aws.lightsail
    lightsail = f"Lightsail {ls.service} ({ls.power} × {ls.scale}; one pod: localhost)"
    assert_drawn_in(pic, "frontend", lightsail)
    assert_drawn_in(pic, "redpanda", FARGATE)
    assert_drawn_in(pic, "postgres", "Amazon RDS")
    assert_drawn_in(pic, "firebase", "Outside AWS")
    assert box_of(pic, "internet") == ""  # the public endpoint's client is outside every box


def test_a_service_moved_to_lightsail_is_drawn_there(topology, dot):
    """Broken variant: redpanda moved from Fargate to Lightsail. The check that holds for the reference topology
    fails on it, and the picture puts redpanda in the Lightsail box."""
    variant = picture(moved(topology, "redpanda", "lightsail"), "aws")
    with pytest.raises(AssertionError, match="redpanda is drawn in 'Lightsail"):
        assert_drawn_in(variant, "redpanda", FARGATE)
    ls = topology.aws.lightsail
    assert_drawn_in(variant, "redpanda", f"Lightsail {ls.service} ({ls.power} × {ls.scale}; one pod: localhost)")
    assert_drawn_in(variant, "clickhouse", FARGATE)


def test_compose_is_one_network_on_the_machine(topology, dot):
    pic = picture(topology, "compose")
    for s in topology.services:
        assert_drawn_in(pic, s.name, f"Docker network {topology.project}_default")
    assert box_of(pic, "loopback") == "Developer's machine"
    published = {s.name for s in topology.services if any(p.publish for p in s.ports)}
    assert {e.removeprefix("edge_loopback__svc_") for e in pic.edges if e.startswith("edge_loopback__")} == published


def test_railway_is_one_project_with_volumes_and_public_endpoints(topology, dot):
    pic = picture(topology, "railway")
    d = graph.diagram(topology, "railway")
    project = d.boxes[-1].title
    assert project.startswith(f"Railway project {topology.project} · environment ")
    for s in topology.services:
        assert_drawn_in(pic, s.name, project)
        assert f"{s.name}.railway.internal" in " ".join(pic.nodes[f"svc_{s.name}"][1])
        for v in s.volumes:
            assert box_of(pic, f"vol_{v.name}") == project
            assert f"edge_svc_{s.name}__vol_{v.name}" in pic.edges
    public = [n for n in pic.nodes if n.startswith("pub_")]
    assert public, "no public endpoint drawn"
    for n in public:
        assert box_of(pic, n) == "Railway public networking"
        assert f"edge_{n}__svc_{n.removeprefix('pub_')}" in pic.edges


def test_railway_without_a_plan_publishes_what_the_topology_publishes(topology):
    """Derived from the generic model alone: every published port is public, HTTP on a domain, the rest on a TCP
    proxy (one of each per service)."""
    bare = replace(topology, services=tuple(replace(s, placement=freeze({k: v for k, v in s.placement.items()
                                                                          if k != "railway"}))
                                            for s in topology.services))
    if hasattr(bare, "railway"):
        bare = replace(bare, railway=type(bare.railway)())
    d = graph.diagram(bare, "railway")
    published = {s.name for s in bare.services if any(p.publish for p in s.ports)}
    assert {n.removeprefix("pub_") for n in d.nodes if n.startswith("pub_")} == published
    assert "TCP proxy → postgres 5432" in d.nodes["pub_postgres"].lines
    assert "not public: firestore 8080, functions 5001" in d.nodes["pub_firebase"].lines


def cloudrun_placed(t: Topology, service: str, **changes) -> Topology:
    """`service` with placement.cloudrun changed (fields of CloudRunPlacement)."""
    def move(s):
        if s.name != service:
            return s
        return replace(s, placement=freeze({**s.placement, "cloudrun": replace(s.placement["cloudrun"], **changes)}))
    return replace(t, services=tuple(move(s) for s in t.services))


def run_box(name: str) -> str:
    return f"Cloud Run service {name} (one instance: localhost shared)"


def test_cloudrun_boxes_follow_the_rendering(topology, dot):
    """An instance per Cloud Run service with its sidecars, the hosts off Cloud Run by kind, and the internet reaching
    only the service with `ingress: all`."""
    pic = picture(topology, "cloudrun")
    assert_drawn_in(pic, "frontend", run_box("frontend"))
    assert_drawn_in(pic, "backend", run_box("backend"))
    for s in ("daemon", "telemetry-worker", "workers"):
        assert_drawn_in(pic, s, run_box("daemon"))
    assert_drawn_in(pic, "postgres", "Cloud SQL")
    assert_drawn_in(pic, "redpanda", "Compute Engine VMs")
    assert_drawn_in(pic, "clickhouse", "Compute Engine VMs")
    assert_drawn_in(pic, "dragonfly", "Memorystore")
    assert_drawn_in(pic, "firebase", "Firebase")
    assert box_of(pic, "internet") == ""
    assert {e for e in pic.edges if e.startswith("edge_internet__")} == {"edge_internet__svc_frontend"}
    assert "redpanda.deml.internal" in " ".join(pic.nodes["svc_redpanda"][1])


def test_cloudrun_a_sidecar_made_a_service_is_drawn_as_its_own_instance(topology, dot):
    """Broken variant: telemetry-worker no longer a sidecar of the daemon. The check that holds for the reference
    topology fails on it; the picture gives it an instance of its own."""
    variant = picture(cloudrun_placed(topology, "telemetry-worker", sidecar_of=""), "cloudrun")
    with pytest.raises(AssertionError, match="telemetry-worker is drawn in 'Cloud Run service telemetry-worker"):
        assert_drawn_in(variant, "telemetry-worker", run_box("daemon"))
    assert_drawn_in(variant, "workers", run_box("daemon"))


def test_cloudrun_without_its_block_says_the_values_are_defaults():
    from harness.loader import load

    t, _ = load(ROOT / "tests" / "golden" / "minimal" / "topology.yaml")
    d = graph.diagram(t, "cloudrun")
    gcp = next(b for b in d.boxes if b.id == "gcp")
    assert "defaults: the topology has no `cloudrun:` block" in gcp.detail
    assert all(b.nodes or b.boxes for b in d.boxes), "an empty box is drawn"


def test_cloudrun_what_the_rendering_refuses_is_drawn_apart(topology):
    """redpanda placed on Cloud Run (a volume, TCP only): the rendering refuses it, and so does the picture."""
    d = graph.diagram(cloudrun_placed(topology, "redpanda", host=""), "cloudrun")
    refused = next(b for b in d.boxes if b.id == "refused")
    assert refused.title.startswith("Not on Cloud Run") and refused.nodes == ["svc_redpanda"]


@pytest.mark.parametrize("host", graph.HOSTS)
def test_mermaid_per_host(topology, host):
    text = graph.mermaid(topology, host)
    assert text.startswith("flowchart LR\n")
    for title in graph.diagram(topology, host).box_titles():
        assert f'["{title}"]' in text
    for (a, b) in graph.edges(topology):
        assert re.search(rf'^  {a.replace("-", "_")} -->\|"[^"]+"\| {b.replace("-", "_")}$', text, re.M), (a, b)


def test_missing_dot_is_a_located_error_with_a_hint(topology, monkeypatch):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    with pytest.raises(TopoError, match="Graphviz `dot` is not installed.*apt-get install"):
        graph.svg(topology, "aws")
    assert graph.mermaid(topology, "aws")  # Mermaid needs nothing


def test_unknown_host_is_refused(topology):
    with pytest.raises(TopoError, match="hosts: compose, aws, railway"):
        graph.diagram(topology, "heroku")


@pytest.mark.parametrize("host", graph.HOSTS)
def test_committed_picture(topology, host):
    """docs/graphs/HOST.svg: small, says how it was made, shows every service of the reference topology
    (regenerate with `make graphs`)."""
    path = ROOT / "docs" / "graphs" / f"{host}.svg"
    text = path.read_text()
    assert len(text.encode()) < 100_000
    assert f"Generated by topo graph from topology.yaml for host {host}" in text
    pic = read(text)
    assert {f"svc_{s.name}" for s in topology.services} <= set(pic.nodes)
    assert crossings(pic) == []
