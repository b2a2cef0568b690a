"""Diagrams of a topology: Mermaid text and a self-contained SVG.

Nodes are services; edges are env references (consumer → provider, labelled with the variables); boxes are AWS
boundaries: the Lightsail pod (one network namespace), Fargate tasks, RDS, and what lives outside AWS.
"""
from __future__ import annotations

from collections import defaultdict
from html import escape

from harness.model import Topology, references

BOUNDARIES = [
    ("lightsail", "Lightsail container service (one pod: localhost)"),
    ("fargate", "ECS Fargate tasks (Service Connect names)"),
    ("rds", "Amazon RDS"),
    ("external", "Outside AWS"),
    ("", "Not placed on AWS"),
]


def edges(t: Topology) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s in t.services:
        for var, value in list(s.env) + [(f"command[{i}]", c) for i, c in enumerate(s.command)]:
            for _, svc, _ in references(value):
                if svc and svc != s.name and t.service(svc) is not None and var not in out[(s.name, svc)]:
                    out[(s.name, svc)].append(var)
    return dict(out)


def _group(t: Topology) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = defaultdict(list)
    for s in t.services:
        p = s.placement.get("aws")
        groups[p.kind if p else ""].append(s.name)
    return groups


def _node_id(name: str) -> str:
    return name.replace("-", "_")


def mermaid(t: Topology) -> str:
    lines = ["flowchart LR"]
    groups = _group(t)
    ls = t.aws.lightsail
    for kind, title in BOUNDARIES:
        if not groups.get(kind):
            continue
        if kind == "lightsail" and ls:
            title = f"Lightsail {ls.service} ({ls.power} × {ls.scale}; one pod: localhost)"
        lines.append(f'  subgraph {kind or "unplaced"}["{title}"]')
        for name in groups[kind]:
            s = t.service(name)
            lines.append(f'    {_node_id(name)}["{name}<br/>{s.role} · {escape(s.image.ref)}"]')
        lines.append("  end")
    for (a, b), names in sorted(edges(t).items()):
        label = ", ".join(sorted(names))
        if len(label) > 40:
            label = f"{len(names)} variables"
        lines.append(f'  {_node_id(a)} -->|"{label}"| {_node_id(b)}')
    if ls and ls.public_container:
        lines.append(f'  internet(("internet")) -->|"public endpoint :{ls.public_port}"| {_node_id(ls.public_container)}')
    return "\n".join(lines) + "\n"


def svg(t: Topology) -> str:
    """A column per boundary, a box per service, a curve per reference edge."""
    groups = [(kind, title, _group(t).get(kind, [])) for kind, title in BOUNDARIES]
    groups = [g for g in groups if g[2]]
    box_w, box_h, gap, col_gap, pad = 180, 44, 18, 90, 30
    pos: dict[str, tuple[int, int]] = {}
    parts = []
    height = max(len(names) for _, _, names in groups) * (box_h + gap) + 2 * pad + 40
    x = pad
    for kind, title, names in groups:
        col_h = len(names) * (box_h + gap) + 30
        parts.append(f'<rect x="{x - 12}" y="{pad}" width="{box_w + 24}" height="{col_h}" rx="8" '
                     f'fill="none" stroke="#888" stroke-dasharray="5,4"/>')
        parts.append(f'<text x="{x - 6}" y="{pad + 16}" font-size="11" fill="#444">{escape(title)}</text>')
        for i, name in enumerate(names):
            y = pad + 28 + i * (box_h + gap)
            pos[name] = (x, y)
            s = t.service(name)
            parts.append(f'<rect x="{x}" y="{y}" width="{box_w}" height="{box_h}" rx="6" fill="#eef4ff" stroke="#3366cc"/>')
            parts.append(f'<text x="{x + 8}" y="{y + 18}" font-size="13" font-weight="bold">{escape(name)}</text>')
            parts.append(f'<text x="{x + 8}" y="{y + 34}" font-size="10" fill="#555">{escape(s.role)} · '
                         f'{escape(s.image.ref[:26])}</text>')
        x += box_w + col_gap
    for (a, b), names in sorted(edges(t).items()):
        (ax, ay), (bx, by) = pos[a], pos[b]
        x1, y1 = ax + box_w, ay + box_h // 2
        x2, y2 = bx, by + box_h // 2
        if bx <= ax:  # edge within a column or backwards: leave from the left side
            x1, x2 = ax, bx + box_w if bx < ax else bx
        mx = (x1 + x2) / 2 + (40 if bx == ax else 0)
        parts.append(f'<path d="M{x1},{y1} C{mx},{y1} {mx},{y2} {x2},{y2}" fill="none" stroke="#999" '
                     f'marker-end="url(#arrow)"><title>{escape(a)} → {escape(b)}: {escape(", ".join(sorted(names)))}</title></path>')
    width = x - col_gap + pad + 12
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif">\n'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#999"/></marker></defs>\n'
            f'<title>{escape(t.project)} topology</title>\n' + "\n".join(parts) + "\n</svg>\n")
