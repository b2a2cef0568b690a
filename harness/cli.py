"""The `topo` command line. Library code raises; this module alone turns errors into messages and exit codes.

Exit codes: 0 ok · 1 a check found a difference (drift, parity, budget) · 2 the topology (or the input) is invalid.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from harness import __version__
from harness.errors import CommandError, RenderError, TopoError, TopologyError

app = typer.Typer(
    name="topo",
    help=(
        "topo — one topology.yaml, rendered to docker compose and AWS (Lightsail + Fargate + RDS), brought up "
        "locally with the same images, and held to contracts.\n\n"
        "Start with `topo validate`, then `topo render` (writes compose/ and deploy/aws/). "
        "`topo render --check` fails when committed files drift. `topo cost`, `topo graph` and "
        "`topo parity --static compose aws` explain the AWS shape. Every command reads ./topology.yaml or -f PATH."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)

FileOpt = typer.Option(Path("topology.yaml"), "-f", "--file", help="the topology to read", show_default=True)
JsonOpt = typer.Option(False, "--json", help="print machine-readable JSON instead of tables")


def _load(path: Path):
    from harness.loader import load

    return load(path)


def _print_problems(problems, as_json: bool = False) -> None:
    if as_json:
        return
    for p in problems:
        style = {"error": "red", "warning": "yellow"}.get(p.severity, "dim")
        err.print(str(p), style=style, markup=False, highlight=False)


def _emit(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@app.command()
def validate(file: Path = FileOpt, as_json: bool = JsonOpt,
             strict: bool = typer.Option(False, "--strict", help="treat warnings as errors")) -> None:
    """Check topology.yaml: schema, references, ports, sizes and AWS rules. Exit 2 on any error.

    Every problem is printed as `FILE:LINE:COL: key.path: what is wrong; what to do`.
    """
    topology, warnings = _load(file)
    if strict:
        # one notion of strict: what `render --strict` refuses (a target that cannot represent something) is
        # refused here too
        from harness import render as r

        warnings = warnings + [n for x in r.render(topology, None) for n in x.notes if n.severity == "warning"]
    if as_json:
        _emit({"ok": not (strict and warnings), "file": str(file), "services": [s.name for s in topology.services],
               "warnings": [w.as_dict() for w in warnings]})
    else:
        _print_problems(warnings)
        out.print(f"{file}: valid — {len(topology.services)} services, {len(topology.tenants)} tenants "
                  f"(first: {topology.tenants[0].id}), {len(topology.topics)} topics, {len(warnings)} warning(s)")
    if strict and warnings:
        raise typer.Exit(2)


@app.command()
def schema(which: str = typer.Argument("topology", help="topology (topology.yaml) or endpoints (the file of "
                                                        "`topo gate --target endpoints:FILE`)")) -> None:
    """Print a JSON Schema: topology.yaml's (the default; point your editor's YAML plugin at it) or, with
    `topo schema endpoints`, the endpoints file's (a running environment's addresses; passwords as a string,
    {"env": "VAR"} or {"file": "PATH"})."""
    if which == "topology":
        from harness.loader.schema import schema_text
    elif which == "endpoints":
        from harness.endpoints import schema_text
    else:
        err.print(f"unknown schema '{which}'; use `topo schema topology` or `topo schema endpoints`", markup=False)
        raise typer.Exit(2)
    sys.stdout.write(schema_text())


@app.command()
def render(
    target: Optional[str] = typer.Argument(None, help="a target (compose, aws, aws-emulation, railway, ...) or asyncapi; all of them when omitted"),
    file: Path = FileOpt,
    check: bool = typer.Option(False, "--check", help="write nothing; exit 1 if committed files differ from a fresh rendering"),
    strict: bool = typer.Option(False, "--strict", help="fail when a target cannot represent something (warnings become errors)"),
    output: Path = typer.Option(Path("."), "--output", "-o", help="project root to write into"),
    as_json: bool = JsonOpt,
) -> None:
    """Render the topology into files: compose/docker-compose.yml, deploy/aws/*.json, deploy/railway/..., and
    deploy/asyncapi.yaml (AsyncAPI 3.0.0: the topics as channels, the event envelope as payload, producers and
    consumers as operations, the broker of each target as a server).

    Each target prints what it cannot represent (e.g. Lightsail has no read-only flag). Rendered AWS inputs are
    validated with botocore's models and topo's stricter rule table. With --check nothing is written.
    """
    from harness import render as r

    if target is not None and target not in r.RENDERERS:
        err.print(f"unknown target '{target}'; targets: {', '.join(r.RENDERERS)}", markup=False)
        raise typer.Exit(2)
    if output.exists() and not output.is_dir():
        err.print(f"--output {output}: not a directory; give the project root to write into", markup=False)
        raise typer.Exit(2)
    topology, warnings = _load(file)
    root = output if output != Path(".") else (file.parent if file.parent != Path("") else Path("."))
    renderings = r.render(topology, [target] if target else None, strict=strict)
    notes = warnings + [n for x in renderings for n in x.notes]
    if check:
        drifts = r.drift(renderings, root)
        if as_json:
            _emit({"drift": [{"path": d.path, "state": d.state, "diff": d.diff} for d in drifts]})
        else:
            for d in drifts:
                err.print(f"{d.path}: {d.state} — run `topo render` and commit the result", markup=False)
                if d.diff:
                    err.print(d.diff, markup=False, highlight=False)
            if not drifts:
                out.print(f"renderings match {file} ({sum(len(x.files) for x in renderings)} files)")
        raise typer.Exit(1 if drifts else 0)
    written = r.write(renderings, root)
    if as_json:
        _emit({"written": written, "files": [p for x in renderings for p in x.files], "notes": [n.as_dict() for n in notes]})
        return
    _print_problems([n for n in notes if n.severity != "notice"] if not strict else notes)
    hidden = sum(n.severity == "notice" for n in notes)
    for x in renderings:
        for path in x.files:
            out.print(f"{'wrote' if path in written else 'unchanged'} {path}")
    if hidden:
        out.print(f"({hidden} notice(s) about what targets express differently: `topo render --json` lists them)")


@app.command()
def cost(
    file: Path = FileOpt,
    as_json: bool = JsonOpt,
    compare: Optional[tuple[str, str]] = typer.Option(
        None, "--compare", metavar="A B", help="hosts side by side per month: aws, railway, cloudrun "
                                               "(e.g. --compare railway aws cloudrun)"),
    more: Optional[list[str]] = typer.Argument(None, metavar="[HOST]...", help="more hosts for --compare (cloudrun)"),
    usage: Path = typer.Option(Path("reports/usage.json"), "--usage",
                               help="measured CPU/memory for Railway and Cloud Run (written by `topo gate` or bench/usage.py)"),
) -> None:
    """Monthly cost of the AWS placement, line by line, from a dated price table with sources.

    Compared with the platform chapter's own $35–55 estimate. Exit 1 when the total exceeds `budget.monthly_usd`.
    `--compare railway aws`: Railway bills measured usage, so its side comes from a usage file (`--usage`, written
    by `topo gate` or `bench/usage.py`) with the measured averages held all month; without one it says how to
    measure and exits 1. Shown beside the platform chapter's figures (Railway ~$50/month).
    """
    from harness.cost import summary

    topology, _ = _load(file)
    if compare:
        from harness import cost as c

        try:
            cmp = c.compare(topology, tuple(h.lower() for h in (*compare, *(more or []))), c.load_usage(usage), str(usage))
        except c.NeedsMeasurement as exc:
            if as_json:
                _emit({"ok": False, "needs_measurement": str(exc)})
            else:
                err.print(str(exc), markup=False)
            raise typer.Exit(1) from None
        if as_json:
            _emit(cmp)
            return
        hosts, per = cmp["hosts"], cmp["per_host"]
        table = Table(title=f"Monthly cost side by side: {' vs '.join(hosts)} (USD/month)")
        table.add_column("per month")
        for h in hosts:
            table.add_column(f"{h} (prices of {per[h]['prices_date']})", justify="right")
        for row in cmp["rows"]:
            table.add_row(row["category"], *("-" if row[h] is None else f"{row[h]:.2f}" for h in hosts))
        table.add_row("[b]total[/b]", *(f"[b]{cmp['totals'][h]:.2f}[/b]" for h in hosts))
        if any(per[h].get("idle_total_usd") is not None for h in hosts):  # a usage-billed host measured idle too
            table.add_row("total if idle all month", *(f"{per[h]['idle_total_usd']:.2f}"
                                                        if per[h].get("idle_total_usd") is not None else "-"
                                                        for h in hosts))
        table.add_row("the platform chapter's figure", *(cmp["chapter"][h] for h in hosts))
        out.print(table)
        for rw in (per[h] for h in hosts if "measured" in per[h]):  # usage-billed hosts: what was measured
            detail = Table(title=f"{rw.get('title', 'usage-billed host')}, {rw['plan']} plan, from measured usage "
                                 f"({rw['measured']['file']})")
            for col in ("item", "service", "quantity", "USD/month", "how"):
                detail.add_column(col, justify="right" if col == "USD/month" else "left")
            for line in rw["lines"]:
                detail.add_row(line["item"], line["service"], line["quantity"], f"{line['monthly_usd']:.2f}", line["how"])
            out.print(detail)
            out.print(f"Measured, not guessed: {rw['assumption']}.", markup=False)
            if rw.get("idle_total_usd") is not None:
                out.print(f"Idle (measured over {rw['idle_window_s']} s before the load, held all month): "
                          f"${rw['idle_total_usd']:.2f}/month.", markup=False)
            out.print(f"Plan: {rw['plan']} — {rw['plan_why']}.", markup=False)
            if rw.get("billing"):  # hosts with a billing mode per service (Cloud Run: request- or instance-based)
                out.print("Billing mode per service: " + ", ".join(f"{k} {v}-based" for k, v in rw["billing"].items())
                          + " (request-based: billed while serving; instance-based: background work, CPU always "
                          "allocated)", markup=False)
            for what, names in (("not priced (outside the host)", rw["left_out"]),
                                ("NOT MEASURED (left out of the total)", rw["not_measured"]),
                                ("measured but not a topology service (not priced)", rw["measured_not_in_topology"])):
                if names:
                    out.print(f"{what}: {', '.join(names)}", markup=False)
        for h in hosts:
            out.print(f"{h}: the platform chapter's figure {cmp['chapter'][h]} — {cmp['chapter_sources'][h]}", markup=False)
        out.print("Sources:")
        for src in sorted({line["source"] for h in hosts for line in per[h]["lines"] if line["source"] != "-"}):
            out.print(f"  - {src}", markup=False)
        return
    s = summary(topology)
    if as_json:
        _emit(s)
    else:
        table = Table(title=f"Monthly cost, {s['region']}, prices of {s['prices_date']}")
        for col in ("item", "service", "quantity", "USD/month", "how"):
            table.add_column(col, justify="right" if col == "USD/month" else "left")
        for line in s["lines"]:
            table.add_row(line["item"], line["service"], line["quantity"], f"{line['monthly_usd']:.2f}", line["how"])
        table.add_row("[b]total[/b]", "", "", f"[b]{s['total_usd']:.2f}[/b]", "")
        out.print(table)
        lo, hi = s["seed_range_usd"]
        out.print(f"The platform chapter estimates ${lo:g}–{hi:g}/month: this total is "
                  f"{'within' if s['within_seed_range'] else 'outside'} that range.")
        if s["budget_usd"] is not None:
            out.print(f"Budget: ${s['budget_usd']:g}/month — {'OVER' if s['over_budget'] else 'within'} budget.")
        out.print("Sources:")
        for src in sorted({line["source"] for line in s["lines"] if line["source"] != "-"}):
            out.print(f"  - {src}", markup=False)
    if s["over_budget"]:
        raise typer.Exit(1)


@app.command()
def graph(
    file: Path = FileOpt,
    target: str = typer.Option("aws", "--target", "--host",
                               help="whose boundaries to draw: compose, aws, railway or cloudrun"),
    fmt: str = typer.Option("mermaid", "--format", help="mermaid (text for GitHub Markdown) or svg (needs Graphviz)"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write to this file instead of stdout"),
) -> None:
    """Diagram of one host: its boundaries as boxes, the services inside them, env-reference edges.

    Boxes per --target: compose — one Docker network on the developer's machine, published ports on 127.0.0.1;
    aws — the Lightsail pod (one network namespace: localhost), Fargate tasks (Service Connect names), RDS and what
    is outside AWS (placement.aws); railway — one Railway project + environment, SERVICE.railway.internal on the
    private network, volumes attached, public domains and TCP proxies; cloudrun — one box per Cloud Run service
    with its instance's containers (sidecars share localhost), the hosts off Cloud Run (Cloud SQL, Compute Engine,
    Memorystore, Firebase) under their private DNS names, and what the rendering refused.
    An edge goes from the service whose env (or command) references another to that service; a provider reached by
    the same variables from every consumer names them in its box (hover an edge in the SVG for its variables).

    Mermaid renders in GitHub Markdown. SVG is laid out by Graphviz `dot` (`make graph-deps` installs it):
    `topo graph --target railway --format svg -o railway.svg`. docs/graphs/ holds the reference pictures.
    """
    from harness import graph as g

    if fmt not in ("mermaid", "svg"):
        err.print(f"unknown format '{fmt}'; use mermaid or svg", markup=False)
        raise typer.Exit(2)
    if target not in g.HOSTS:
        err.print(f"unknown target '{target}' for a graph; use {', '.join(g.HOSTS)}", markup=False)
        raise typer.Exit(2)
    topology, _ = _load(file)
    text = g.mermaid(topology, target) if fmt == "mermaid" else g.svg(topology, target)
    if output:
        output.write_text(text)
        out.print(f"wrote {output}")
    else:
        sys.stdout.write(text)


@app.command()
def parity(
    a: str = typer.Argument(..., help="first target (compose)"),
    b: str = typer.Argument(..., help="second target (aws)"),
    static: bool = typer.Option(False, "--static", help="compare rendered artifacts only (no running stacks)"),
    file: Path = FileOpt,
    as_json: bool = JsonOpt,
    all_rows: bool = typer.Option(False, "--all", help="also list aspects that are the same"),
    events: int = typer.Option(300, "--events", help="events per fault contract in the behavioural comparison"),
    report_dir: Path = typer.Option(Path("reports/parity"), "--report-dir", help="where parity.md/.json go"),
) -> None:
    """Compare two targets side by side: images, env names and values, ports, hardening, resources, topics.

    Only host-valued env (values built from ${service.host}) may differ; differences a target declares it cannot
    express, placements declared in topology.yaml and sizes snapped to a target's grid are shown as explained.
    Without --static (targets compose and aws-emulation): the static comparison plus the behaviour — the
    contract suite run on both targets, verdicts side by side (Markdown and JSON in --report-dir).
    Exit 1 on any unexplained difference.
    """
    from harness import parity as p
    from harness.render import render as do_render
    from harness.targets import TARGETS

    if not static:
        raise typer.Exit(_behavioural_parity(file, a, b, as_json, events, report_dir))
    for name in (a, b):
        if name not in TARGETS:
            err.print(f"unknown target '{name}'; targets: {', '.join(TARGETS)}", markup=False)
            raise typer.Exit(2)
    topology, _ = _load(file)
    ra, rb = do_render(topology, [a, b])
    rows = p.compare(topology, ra, rb)
    rep = p.report(rows)
    if as_json:
        _emit({"a": a, "b": b, **rep})
    else:
        table = Table(title=f"parity --static {a} vs {b}")
        for col in ("service", "aspect", a, b, "verdict", "why"):
            table.add_column(col, overflow="fold")
        for row in rows:
            if row.verdict == "same" and not all_rows:
                continue
            style = {"DIFFERENT": "red", "explained": "yellow"}.get(row.verdict, "")
            table.add_row(row.service, row.aspect, row.a, row.b, row.verdict, row.why, style=style)
        out.print(table)
        out.print(f"{rep['same']} same, {rep['explained']} explained, {rep['different']} unexplained difference(s)")
    if rep["different"]:
        raise typer.Exit(1)


images_app = typer.Typer(help="Build, pull or list the topology's images (offline stand-ins where no registry answers).",
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(images_app, name="images")


@images_app.command("build")
def images_build(
    names: Optional[list[str]] = typer.Argument(None, help="image keys from topology.yaml (default: all)"),
    offline: Optional[bool] = typer.Option(None, "--offline/--online",
                                           help="--offline: never pull, build stand-ins; default: try one pull, then decide"),
    rebuild: bool = typer.Option(False, "--rebuild", help="rebuild even when the image is up to date"),
    file: Path = FileOpt,
) -> None:
    """Build our images (app, firebase) and make the upstream ones present: pulled, or — where no registry
    answers — replaced by offline stand-ins built from OS packages and tagged with the upstream refs."""
    from rich.live import Live
    from rich.text import Text

    from harness.runtime import images

    topology, _ = _load(file)
    root = file.resolve().parent
    lines: dict[str, str] = {}
    done: dict[str, str] = {}

    def view() -> Text:
        t = Text()
        for name in topology.images:
            if name in done:
                t.append(f"  ✔ {name:<11} {done[name]}\n", style="green")
            elif name in lines:
                t.append(f"  … {name:<11} {lines[name][-110:]}\n", style="yellow")
            else:
                t.append(f"    {name:<11} waiting\n", style="dim")
        return t

    with Live(view(), console=err, refresh_per_second=4, transient=False) as live:
        def on_line(name: str, line: str) -> None:
            lines[name] = line
            live.update(view())

        def on_done(name: str, result: str, seconds: float) -> None:
            done[name] = f"{result} ({seconds:.1f} s)"
            live.update(view())

        images.ensure(topology, root, offline=offline, rebuild=rebuild, only=names or None,
                      on_line=on_line, on_done=on_done)
    images_ls(file=file, as_json=False, fidelity=False)


@images_app.command("ls")
def images_ls(file: Path = FileOpt, as_json: bool = JsonOpt,
              fidelity: bool = typer.Option(False, "--fidelity", help="the upstream fidelity table instead: each fact "
                                            "the rendering relies on, its source, how the stand-in reproduces it, "
                                            "and whether this topology respects it")) -> None:
    """List the topology's images: ours, upstream, or offline stand-in (and what the stand-in really is)."""
    from dataclasses import asdict

    from harness.runtime import images

    topology, _ = _load(file)
    if fidelity:
        _fidelity_table(topology, as_json)
        return
    states = [images.state(i) for i in topology.images.values()]
    if as_json:
        _emit([asdict(s) for s in states])
        return
    table = Table(title="images")
    for col in ("image", "ref", "origin", "MB", "note"):
        table.add_column(col, overflow="fold")
    for s in states:
        style = {"stand-in": "yellow", "missing": "red"}.get(s.origin, "")
        table.add_row(s.name, s.ref, s.origin.upper() if s.origin == "stand-in" else s.origin,
                      f"{s.size_mb:.0f}" if s.present else "-", s.note, style=style)
    out.print(table)


def _fidelity_table(topology, as_json: bool) -> None:
    from harness import fidelity

    rows = [{"id": f.id, "image": f.image, "fact": f.fact, "source": f.source, "stand-in": f.standin,
             "verified": f.verified, "this topology": "; ".join(p.message for p in f.check(topology)) or "respects it"}
            for f in fidelity.FACTS]
    if as_json:
        _emit(rows)
        return
    table = Table(title="upstream fidelity: what the rendering relies on (harness/fidelity.py)", show_lines=True)
    for col in ("id", "fact", "source", "stand-in", "verified", "this topology"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["id"], r["fact"], r["source"], r["stand-in"], r["verified"], r["this topology"],
                      style="" if r["this topology"] == "respects it" else "red")
    out.print(table)
    out.print("verified: read = read in the upstream source named; read+run = and reproduced by running the stand-in",
              markup=False)


@app.command()
def doctor(as_json: bool = JsonOpt) -> None:
    """Check this machine: Docker engine, Compose v2, BuildKit, registry reachability, CA bundle. Exit 1 if the
    engine or Compose is missing (`make provision` fixes both on a Debian-family root host)."""
    from dataclasses import asdict

    from harness.runtime.doctor import checks

    results = checks()
    if as_json:
        _emit([asdict(c) for c in results])
    else:
        for c in results:
            out.print(f"{'✔' if c.ok else '✘'} {c.name:<19} {c.detail}" + (f"\n    fix: {c.fix}" if c.fix else ""),
                      style="green" if c.ok else "red", markup=False)
    if not all(c.ok for c in results if c.name in ("docker client", "Docker engine", "Compose v2", "BuildKit")):
        raise typer.Exit(1)


def _stack(file: Path, project: Optional[str], target: str = "compose", profile: str = ""):
    from harness.model import with_profile
    from harness.runtime.stack import Stack

    topology, _ = _load(file)
    try:
        return Stack(with_profile(topology, profile), file.resolve().parent, project or "", target=target)
    except TopoError as exc:  # an unknown profile, or a target topo cannot run locally
        err.print(str(exc), style="red", markup=False)
        raise typer.Exit(2) from None


ProjectOpt = typer.Option(None, "-p", "--project", help="compose project name (default: the topology's `project`)")
def _runnable_help() -> str:
    from harness.targets import RUNNABLE, TARGETS

    return "; ".join(f"{n}: {TARGETS[n].description}" for n in RUNNABLE)


RunTargetOpt = typer.Option("compose", "--target", help=f"the host to run locally ({_runnable_help()})")


@app.command()
def up(
    file: Path = FileOpt,
    project: Optional[str] = ProjectOpt, target: str = RunTargetOpt,
    deadline: float = typer.Option(240.0, "--deadline", help="seconds to wait for every service to answer its probe"),
    no_build: bool = typer.Option(False, "--no-build", help="do not build or pull images first"),
    as_json: bool = typer.Option(False, "--json", help="print the bring-up report as JSON (with `endpoints_file`) "
                                                      "instead of tables"),
    profile: str = typer.Option("", "--profile", help="apply a profile of topology.yaml `profiles:` (e.g. gate)"),
) -> None:
    """Bring the topology up with Docker Compose, wait until every service answers a real probe, bootstrap it
    (SASL users, topics, schemas, tenants with Tenant0) and print the endpoints. Running it twice is harmless.

    Writes the endpoints file .topo/endpoints.json (.topo/endpoints-PROJECT.json for another -p; mode 0600,
    git-ignored; passwords as {"file": "secrets/NAME"}, never values; schema: `topo schema endpoints`) and prints
    its path (`endpoints_file` with --json): `topo gate --target endpoints:.topo/endpoints.json --allow-partial`
    then holds the running stack to the contracts."""
    import time

    from harness.runtime import images

    stack = _stack(file, project, target, profile)
    t0 = time.monotonic()
    if not no_build:
        with err.status("images: checking / building (first run builds them: minutes)") as status:
            images.ensure(stack.topology, stack.root,
                          on_line=lambda n, line: status.update(f"images: {n}: {line[-100:]}"),
                          on_done=lambda n, r, s: err.print(f"  image {n}: {r} ({s:.1f} s)", markup=False))
    images_s = time.monotonic() - t0

    def on_event(who: str, state: str, detail: str) -> None:
        if as_json:
            return
        mark = {"ready": "✔", "done": "✔", "wrote": "✎"}.get(state, "…")
        err.print(f"  {mark} {who:<17} {state:<8} {detail}", markup=False, highlight=False)

    verdict = images.standin_verdict(stack.topology)
    if not as_json:
        err.print(verdict, style="yellow" if "stand-ins" in verdict else "", markup=False)
    report = stack.up(deadline=deadline, on_event=on_event)
    report.seconds["images"] = round(images_s, 2)
    from harness.endpoints import write_for_stack

    endpoints_file = _shown(write_for_stack(stack))
    if as_json:
        from dataclasses import asdict

        _emit(dict(asdict(report), endpoints_file=endpoints_file))
        return
    table = Table(title=f"{stack.project}: every service answered its probe in {report.seconds['healthy']:.1f} s "
                        f"(bootstrap {report.seconds.get('bootstrap', 0):.1f} s)")
    for col in ("service", "endpoint", "url", "how to authenticate"):
        table.add_column(col, overflow="fold")
    for e in report.endpoints:
        table.add_row(e.service, e.name, e.url, e.auth)
    out.print(table)
    for what, facts in report.host.items():  # what the host's own rules reported (e.g. Lightsail sizing, deployment)
        out.print(f"{facts.get('title', what)}: " + (f"{facts['state']} — " if "state" in facts else "")
                  + facts.get("summary", ""), markup=False)
    out.print(verdict, markup=False)
    out.print(f"Endpoints file: {endpoints_file} (gate this stack: `topo gate --target endpoints:{endpoints_file} "
              "--allow-partial`)", markup=False)
    out.print("Stop with `make down` (keeps data) or `make clean` (removes volumes). Logs: `topo logs SERVICE`.")


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@app.command()
def down(file: Path = FileOpt, project: Optional[str] = ProjectOpt, target: str = RunTargetOpt,
         volumes: bool = typer.Option(False, "--volumes", help="also remove named volumes and local secrets (data is lost)")) -> None:
    """Stop and remove the stack's containers. Data in named volumes is kept unless --volumes."""
    stack = _stack(file, project, target)
    stack.down(volumes=volumes)
    if volumes:  # its endpoints file names secret files that are gone now
        from harness.endpoints import default_path

        default_path(stack).unlink(missing_ok=True)
    out.print(f"{stack.project}: down" + (" (volumes, local secrets and the endpoints file removed)" if volumes
                                          else " (volumes kept)"))


@app.command()
def status(file: Path = FileOpt, project: Optional[str] = ProjectOpt, target: str = RunTargetOpt,
           as_json: bool = typer.Option(False, "--json", help="print {project, services, endpoints_file} as JSON "
                                                              "and (re)write the endpoints file of a running stack")) -> None:
    """Show each service's container state and health.

    With --json, for a running stack, also (re)writes its endpoints file as `topo up` does (.topo/endpoints.json,
    0600; `topo schema endpoints`) and names it in `endpoints_file` (null when nothing runs)."""
    stack = _stack(file, project, target)
    rows = stack.status()
    if as_json:
        endpoints_file = None
        if any(r["state"] == "running" for r in rows):
            from harness.endpoints import write_for_stack

            endpoints_file = _shown(write_for_stack(stack))
        _emit({"project": stack.project, "services": rows, "endpoints_file": endpoints_file})
        return
    table = Table(title=f"{stack.project}")
    for col in ("service", "state", "health", "status", "ports"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["service"], r["state"], r["health"], r["status"], r["ports"],
                      style="green" if r["health"] == "healthy" or (r["state"] == "running" and r["health"] == "-") else "yellow")
    out.print(table)
    from harness.runtime import images

    out.print(images.standin_verdict(stack.topology), markup=False)


@app.command()
def logs(service: str = typer.Argument(..., help="service name from topology.yaml"),
         file: Path = FileOpt, project: Optional[str] = ProjectOpt, target: str = RunTargetOpt,
         tail: int = typer.Option(100, "--tail", help="lines to show"),
         follow: bool = typer.Option(False, "--follow", "-F", help="keep streaming")) -> None:
    """Show a service's logs (docker compose logs)."""
    import subprocess

    stack = _stack(file, project, target)
    if stack.topology.service(service) is None:
        from harness.loader.schema import did_you_mean

        names = [s.name for s in stack.topology.services]
        err.print(f"unknown service '{service}'; {did_you_mean(service, names) or 'services: ' + ', '.join(names)}",
                  markup=False)
        raise typer.Exit(2)
    cmd = stack.compose.base() + ["logs", "--no-color", "--tail", str(tail)] + (["--follow"] if follow else []) + [service]
    raise typer.Exit(subprocess.call(cmd))


chaos_app = typer.Typer(help="Faults as the cloud produces them, on a running stack.", no_args_is_help=True,
                        rich_markup_mode=None)
app.add_typer(chaos_app, name="chaos")


@chaos_app.command("spot")
def chaos_spot(service: str = typer.Argument(..., help="a Fargate service, e.g. redpanda"),
               file: Path = FileOpt, project: Optional[str] = ProjectOpt,
               target: str = typer.Option("aws-emulation", "--target", help="the running target")) -> None:
    """A Fargate Spot interruption: SIGTERM, wait up to the task's stopTimeout (≤ 120 s), kill, replace the task.
    A service-managed EBS volume is replaced with it (its data is gone) unless the topology declares a volume
    that survives (volume_lifecycle: retained, snapshot or efs)."""
    from harness.runtime.chaos import spot

    stack = _stack(file, project, target)
    result = spot(stack, service, on_event=lambda who, state, detail: err.print(f"  {who}: {state} — {detail}",
                                                                               markup=False))
    out.print(f"{service}: stopped in {result['stopped_in_s']} s, back in {result['back_in_s']} s; "
              + (f"volumes REPLACED (data lost): {', '.join(result['replaced_volumes'])}" if result["replaced_volumes"]
                 else f"volume kept ({result['volume_lifecycle']})"), markup=False)


@chaos_app.command("interrupt")
def chaos_interrupt(service: str = typer.Argument(..., help="a service of the topology, e.g. redpanda"),
                    file: Path = FileOpt, project: Optional[str] = ProjectOpt,
                    target: str = typer.Option("aws-emulation", "--target", help="the running target")) -> None:
    """Interrupt and replace one service the way its host does: a Fargate Spot interruption on aws-emulation (and
    compose), a redeploy on railway-emulation (SIGTERM, SIGKILL after drainingSeconds, the volume kept)."""
    stack = _stack(file, project, target)
    err.print(f"{target}: {stack.host.interruption}", markup=False)
    result = stack.interrupt(service, on_event=lambda who, state, detail: err.print(f"  {who}: {state} — {detail}",
                                                                                   markup=False))
    out.print(f"{service}: stopped in {result['stopped_in_s']} s, back in {result['back_in_s']} s; "
              + (f"volumes REPLACED (data lost): {', '.join(result['replaced_volumes'])}" if result["replaced_volumes"]
                 else f"volume kept ({result['volume_lifecycle']})"), markup=False)


@app.command()
def gate(
    file: Path = FileOpt,
    target: str = typer.Option("aws-emulation", "--target",
                               help="a runnable host (aws-emulation, the AWS shape, by default; `topo up --help` lists them) or "
                                    "endpoints:FILE for a running environment"),
    report_dir: Path = typer.Option(Path("reports"), "--report-dir", help="where JUnit XML and the Markdown/HTML report go"),
    events: int = typer.Option(2000, "--events", help="events per fault contract"),
    select: Optional[str] = typer.Option(None, "-k", help="only contracts matching this pytest expression"),
    skip_render_check: bool = typer.Option(False, "--skip-render-check",
                                           help="for a topology whose renderings are not committed beside it"),
    allow_partial: bool = typer.Option(False, "--allow-partial",
                                       help="exit 0 on a PARTIAL gate (contracts skipped, e.g. the control "
                                            "contracts on endpoints:FILE); without it a partial gate exits 1"),
    profile: Optional[str] = typer.Option(None, "--profile",
                                          help="profile of topology.yaml `profiles:` applied to the gate's stack "
                                               "(default: `gate` when declared; --profile '' for none)"),
    attach: Optional[str] = typer.Option(None, "--attach", metavar="PROJECT",
                                         help="run the contracts on the stack PROJECT already running on --target "
                                              "(`topo up -p PROJECT`, TO after `topo migrate`) instead of bringing "
                                              "one up; it is left running, with its own profile"),
) -> None:
    """The pre-deploy contract gate: validate → render --check → budget → bring the target up → run every
    contract → JUnit XML + Markdown/HTML report → tear down. Exit non-zero on any violation.

    PARTIAL: when contracts were skipped — on --target endpoints:FILE the contracts that need container control
    (faults, hardening, secrets in docker inspect, environment; pytest mark `control`) cannot run — the gate says
    PARTIAL with how many were skipped and why, and exits 1 unless --allow-partial is given.

    Select contracts with -k EXPR (a pytest -k expression over contract names and files), e.g.
    `topo gate -k "test_secrets or test_environment"`.

    Attach: `--attach PROJECT` runs the contracts on a stack that already runs (e.g. TO after `topo migrate`); the
    fault contracts still stop and restart its containers, and it is not torn down.

    Profile: the stack the gate brings up applies a profile of topology.yaml (`profiles:`; `gate` by default when
    declared): extra environment per service and the healthcheck interval — e.g. a cron tick every 2 s instead of
    10 s, so a contract waiting for a tick waits seconds. The same code runs; only declared values change. The
    report names the profile.

    Reports: REPORT_DIR/contracts-junit.xml, contracts.md, contracts.html, contracts.json; the report ends with the
    table of broken variants each contract area has been shown to catch (reports/broken-variants.json, written
    by the broken-variant tests of `make test`)."""
    import subprocess
    import time

    import contracts
    from harness import render as r
    from harness.cost import summary

    t0 = time.monotonic()
    if attach and profile is not None:
        err.print("--attach runs on the stack as it was brought up; --profile cannot change it (bring it up with "
                  "`topo up --profile NAME -p PROJECT` instead)", markup=False)
        raise typer.Exit(2)
    if attach and target.startswith("endpoints:"):
        err.print("--attach names a stack of a runnable host; endpoints:FILE is already a running environment",
                  markup=False)
        raise typer.Exit(2)
    if target.startswith("endpoints:"):  # a malformed file or an unset {"env": VAR} fails now, located, exit 2
        from harness.endpoints import load as load_endpoints

        load_endpoints(target.split(":", 1)[1])
    topology, warnings = _load(file)
    _print_problems(warnings)
    out.print(f"gate 1/4 validate: {file} is valid ({len(topology.services)} services)")
    root = file.resolve().parent
    drifts = [] if skip_render_check else r.drift(r.render(topology), root)
    if drifts:
        for d in drifts:
            err.print(f"{d.path}: {d.state} — run `topo render` and commit the result", markup=False)
        err.print("gate failed: committed renderings drift from topology.yaml", style="red")
        raise typer.Exit(1)
    out.print("gate 2/4 render --check: " + ("skipped (--skip-render-check)" if skip_render_check
                                             else "committed renderings match"))
    cost = summary(topology)
    if cost["over_budget"]:
        err.print(f"gate failed: the AWS placement costs ${cost['total_usd']:.2f}/month, over the budget of "
                  f"${cost['budget_usd']:g} (`topo cost` explains each line)", style="red", markup=False)
        raise typer.Exit(1)
    out.print(f"gate 3/4 budget: ${cost['total_usd']:.2f}/month"
              + (f" within ${cost['budget_usd']:g}" if cost["budget_usd"] is not None else " (no budget declared)"))
    report_dir.mkdir(parents=True, exist_ok=True)
    if profile is None:
        profile = "gate" if "gate" in topology.profiles else ""
    if profile and profile not in topology.profiles:
        err.print(f"gate failed: {file} declares no profile '{profile}' (declared: "
                  f"{', '.join(sorted(topology.profiles)) or 'none'})", style="red", markup=False)
        raise typer.Exit(2)
    cmd = [sys.executable, "-m", "pytest", str(Path(contracts.__file__).parent), "-p", "no:cacheprovider",
           "--target", target, "--topo-file", str(file.resolve()), "--contract-events", str(events),
           "--profile", profile,
           "--contract-report", str(report_dir), f"--junitxml={report_dir / 'contracts-junit.xml'}",
           "-o", "junit_family=xunit2", "-q", "-rfEs"] + (["-k", select] if select else []) \
        + (["--attach", attach] if attach else [])
    if attach:
        out.print(f"gate 4/4 contracts on {target}, attached to the running stack {attach} (left running): "
                  f"{events} events per fault contract")
    else:
        out.print(f"gate 4/4 contracts on {target}" + (f" (profile {profile})" if profile else " (no profile)")
                  + f": bring-up, {events} events per fault contract, teardown")
    if not target.startswith("endpoints:"):
        from harness.runtime import images

        out.print(images.standin_verdict(topology), markup=False)
    summary_file = report_dir / "contracts.json"
    summary_file.unlink(missing_ok=True)  # never judge this run by an older run's report
    code = subprocess.call(cmd)
    took = time.monotonic() - t0
    try:
        summary = json.loads(summary_file.read_text())
    except (OSError, json.JSONDecodeError):
        summary = None
    verdict, exit_code, detail = gate_verdict(code, summary, allow_partial)
    if detail:
        (out if exit_code == 0 else err).print(detail, markup=False)
    out.print(f"gate {verdict} in {took:.0f} s — report: {report_dir / 'contracts.md'} (HTML beside it), "
              f"JUnit: {report_dir / 'contracts-junit.xml'}", markup=False)
    raise typer.Exit(exit_code)


def gate_verdict(pytest_code: int, summary: dict | None, allow_partial: bool = False) -> tuple[str, int, str]:
    """(verdict word, exit code, explanation) of a gate from pytest's exit code and the report's contracts.json.

    FAILED (1) on any violation or a pytest error; PARTIAL (1, or 0 with allow_partial) when contracts were skipped;
    passed (0) only when every contract ran and held."""
    if pytest_code != 0:
        return "FAILED", 1, ""
    if summary is None:
        return "FAILED", 1, "gate failed: the contract run wrote no report (contracts.json): nothing proves the verdict"
    total, skipped = int(summary.get("total", 0)), int(summary.get("skipped", 0))
    if total == 0:
        return "FAILED", 1, "gate failed: no contract ran"
    if skipped:
        reasons = "; ".join(f"{n} because {why}" for why, n in (summary.get("skip_reasons") or {}).items())
        detail = (f"gate PARTIAL: {skipped} of {total} contracts skipped ({reasons or 'no reason given'}); "
                  f"{total - skipped} ran and held")
        if allow_partial:
            return "PARTIAL (allowed by --allow-partial)", 0, detail
        return "PARTIAL", 1, detail + " — exit 1; pass --allow-partial to accept a partial gate"
    return "passed", 0, ""


def _behavioural_parity(file: Path, a: str, b: str, as_json: bool, events: int, report_dir: Path) -> int:
    import subprocess

    import contracts
    from harness import parity as p
    from harness.render import render as do_render

    from harness.targets import RUNNABLE

    for name in (a, b):
        if name not in RUNNABLE:
            err.print(f"behavioural parity runs targets {', '.join(RUNNABLE)}; '{name}' is not runnable "
                      "(use --static to compare renderings)", markup=False)
            return 2
    topology, _ = _load(file)
    static_rows = p.compare(topology, *do_render(topology, [a, b]))
    verdicts: dict[str, dict] = {}
    for name in (a, b):
        folder = report_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        err.print(f"running the contract suite on {name} ({events} events per fault contract)...", markup=False)
        subprocess.call([sys.executable, "-m", "pytest", str(Path(contracts.__file__).parent), "-p", "no:cacheprovider",
                         "-q", "--target", name, "--topo-file", str(file.resolve()), "--contract-events", str(events),
                         "--contract-report", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        data = json.loads((folder / "contracts.json").read_text())
        verdicts[name] = {f"{c['area']}::{c['name']}": c["verdict"] for c in data["contracts"]}
    names = sorted(set(verdicts[a]) | set(verdicts[b]))
    rows = [{"contract": n, a: verdicts[a].get(n, "-"), b: verdicts[b].get(n, "-"),
             "same": verdicts[a].get(n) == verdicts[b].get(n)} for n in names]
    static = p.report(static_rows)
    behaviour_diff = sum(not r["same"] for r in rows)
    failing = sum(1 for r in rows for t in (a, b) if r[t] == "FAIL")
    md = [f"# Parity: {a} vs {b}", "",
          f"Static: {static['same']} same, {static['explained']} explained, {static['different']} unexplained.",
          f"Behaviour: {len(rows)} contracts, {behaviour_diff} with different verdicts, {failing} failing verdict(s).",
          "", f"| contract | {a} | {b} |", "|---|---|---|"]
    md += [f"| `{r['contract']}` | {r[a]} | {r[b]} |" for r in rows]
    md += ["", "## Static differences (not 'same')", "", "| service | aspect | verdict | why |", "|---|---|---|---|"]
    md += [f"| {r.service} | {r.aspect} | {r.verdict} | {r.why} |" for r in static_rows if r.verdict != "same"]
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "parity.md").write_text("\n".join(md) + "\n")
    result = {"a": a, "b": b, "static": static, "behaviour": rows, "different_verdicts": behaviour_diff,
              "failing_verdicts": failing}
    (report_dir / "parity.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    if as_json:
        _emit(result)
    else:
        table = Table(title=f"parity {a} vs {b}: contract verdicts")
        for col in ("contract", a, b):
            table.add_column(col, overflow="fold")
        from rich.markup import escape

        for r in rows:  # parametrised ids look like [markup]: escape them
            table.add_row(escape(r["contract"]), r[a], r[b], style="" if r["same"] and r[a] == "PASS" else "red")
        out.print(table)
        out.print(f"static: {static['same']} same, {static['explained']} explained, {static['different']} unexplained; "
                  f"behaviour: {behaviour_diff} different verdict(s), {failing} failing — {report_dir / 'parity.md'}")
    return 1 if static["different"] or behaviour_diff or failing else 0


@app.command()
def migrate(
    source: str = typer.Argument(..., help="the host FROM runs on (a runnable target, e.g. railway-emulation)"),
    destination: str = typer.Argument(..., help="the host TO runs on (e.g. aws-emulation)"),
    file: Path = FileOpt,
    from_project: Optional[str] = typer.Option(None, "--from-project", help="FROM's compose project (default: the "
                                                                            "host's default project)"),
    to_project: Optional[str] = typer.Option(None, "--to-project", help="TO's compose project"),
    events: int = typer.Option(0, "--events", help="rehearse instead: bring FROM and TO up as ephemeral stacks, load "
                                                   "N events into FROM, migrate, tear both down"),
    keep: bool = typer.Option(False, "--keep", help="with --events: leave both stacks running"),
    timeout: float = typer.Option(180.0, "--timeout", help="seconds each wait of the switch may take"),
    report_dir: Path = typer.Option(Path("reports"), "--report-dir", help="where migrate-FROM-TO.json/.txt go"),
    contracts: bool = typer.Option(True, "--contracts/--no-contracts",
                                   help="run the contract gate on TO after the switch (`topo gate --attach`)"),
    contract_events: int = typer.Option(200, "--contract-events", help="events per fault contract of that gate"),
    as_json: bool = JsonOpt,
) -> None:
    """Switch hosts between two running stacks of the topology and prove nothing was lost or duplicated.

    Freezes writes on FROM (front doors stopped, outbox drained, the topics' WRITE ACLs of the non-superusers
    deleted, producers stopped, consumer groups committed), moves Postgres (pg_dump → pg_restore --clean), ClickHouse
    (JSONEachRow) and every declared topic (partition by partition, keys, headers, timestamps), rebuilds TO's Firestore
    projections from the copied topics, starts TO's apps, runs the contract gate on TO (`--no-contracts` skips it;
    the fault contracts stop and restart TO's containers) and writes the data equivalence report. Exit 1 when
    anything was lost, duplicated, changed or reordered (the report names the table/partition and example keys) or
    a contract failed on TO.

    Name the running stacks with --from-project/--to-project (ephemeral stacks kept with `--keep`, or a `topo up -p`
    stack; two `topo up` stacks of one topology share ports, so at most one of them can run). FROM stays frozen:
    `topo up --target FROM -p PROJECT` undoes the freeze. `--events N` rehearses the whole switch on fresh stacks."""
    from harness import migrate as m
    from harness.targets import RUNNABLE, host

    for name in (source, destination):
        if name not in RUNNABLE:
            err.print(f"migrate runs between running stacks; '{name}' is not a runnable target (use one of "
                      f"{', '.join(RUNNABLE)})", markup=False)
            raise typer.Exit(2)
    say = (lambda line: err.print(line, markup=False, highlight=False))
    if events > 0:
        report, summary = m.rehearse(file, source, destination, events, say, keep=keep, timeout=timeout,
                                     contract_events=contract_events if contracts else None, report_dir=report_dir)
    else:
        topology, _ = _load(file)
        src_project = from_project or host(source)().default_project(topology)
        dst_project = to_project or host(destination)().default_project(topology)
        if src_project == dst_project:
            err.print(f"FROM and TO are the same project '{src_project}': name them with --from-project and "
                      "--to-project", markup=False)
            raise typer.Exit(2)
        dst = m.attach(file, destination, dst_project)
        report = m.migrate(m.attach(file, source, src_project), dst, say, timeout)
        if contracts:
            report["contracts"] = m.run_contracts(file, dst, contract_events, report_dir, say)
            report["seconds"]["contracts_on_to"] = report["contracts"]["seconds"]
            report["verdict"] = m.verdict(report)
        else:
            report["contracts"] = dict(m.NOT_RUN)
        summary = m.summary(report)
    js, txt = m.write_report(report, report_dir)
    if as_json:
        _emit({"summary": summary, "report": report, "files": [_shown(js), _shown(txt)]})
    else:
        out.print(m.render(report), markup=False, highlight=False)
        out.print(f"write downtime {summary['write_downtime_s']} s; {summary['messages_copied']} messages and "
                  f"{summary['rows_copied']} rows copied in {summary['copy_s']} s; report: {_shown(js)}, {_shown(txt)}",
                  markup=False)
    if not report["verdict"]["ok"]:
        raise typer.Exit(1)


@app.command()
def version() -> None:
    """Print topo's version."""
    out.print(f"topo {__version__}")


def main() -> None:
    try:
        # without standalone mode click *returns* the code of a typer.Exit instead of exiting with it
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (TopologyError, RenderError) as exc:
        if "--json" in sys.argv[1:]:
            _emit({"ok": False, "problems": [p.as_dict() for p in exc.problems]})
        _print_problems(exc.problems)
        n = len(exc.problems)
        err.print(f"{n} problem{'s' if n != 1 else ''} found; nothing was written.", style="red")
        sys.exit(2)
    except CommandError as exc:
        err.print(str(exc), markup=False)
        sys.exit(1)
    except TopoError as exc:
        err.print(str(exc), markup=False)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001
        # usage errors (typer's click) arrive here in non-standalone mode; they know how to show themselves
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        if os.environ.get("TOPO_DEBUG"):
            raise
        err.print(f"unexpected error: {type(exc).__name__}: {exc}", markup=False)
        err.print("this is a bug in topo or an unexpected state; rerun with TOPO_DEBUG=1 for the traceback", markup=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
