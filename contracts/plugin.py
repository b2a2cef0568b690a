"""pytest plugin of the contract suite (entry point `topo_contracts`).

Fixtures reach services only through the target chosen by --target (else the `topo` plugin's --topo-target →
environment TOPO_TARGET → ini `topo_target`, default compose), shown in the report header, and brought up with
harness.testing.start: a runnable host (compose, aws-emulation, railway-emulation: an ephemeral stack, torn down
after, logs kept in reports/logs/PROJECT/ when a contract failed) or `endpoints:FILE`, an environment already
running, described by an endpoints file (`topo schema endpoints`; `topo up` writes .topo/endpoints.json; a real
deploy: examples/endpoints-aws/). Contracts that control containers (mark `control`: faults, hardening, secrets in
docker inspect, environment) are skipped there, so such a run is PARTIAL. With --contract-report DIR the session writes
DIR/contracts.md and DIR/contracts.html: each contract's promise, verdict, timing and, on failure, the evidence
(expected vs seen, and the last log lines of the services the contract names). A contract that prints a line
`checked: WHAT` gets WHAT beside its promise (how much it checked). A run with skipped contracts is PARTIAL (said at
the top, and in contracts.json: skipped, partial, skip_reasons). The report ends with the broken variants each area
has been shown to catch (contracts/variants.py).
"""
from __future__ import annotations

import html
import json
import os
import time
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("topo contracts")
    group.addoption("--target", default=None,
                    help="a runnable host or endpoints:FILE (else --topo-target, env TOPO_TARGET, ini topo_target)")
    group.addoption("--contract-report", default=None, help="write contracts.md and contracts.html into this folder")
    group.addoption("--broken-variants", default=None,
                    help="the record of broken variants caught (default reports/broken-variants.json under the "
                         "rootdir, env TOPO_BROKEN_VARIANTS); shown as a table in the report")
    group.addoption("--contract-events", type=int, default=None,
                    help="events per fault contract (env TOPO_CONTRACT_EVENTS, default 2000)")
    group.addoption("--profile", default=None,
                    help="profile of topology.yaml `profiles:` applied to the stack (env TOPO_PROFILE; default none)")
    group.addoption("--attach", default=None, metavar="PROJECT",
                    help="run on the stack PROJECT that already runs on --target (`topo up -p PROJECT`, a kept "
                         "ephemeral stack, TO after `topo migrate`) instead of bringing one up; it is left running")


def resolve_target(config: pytest.Config) -> tuple[str, str]:
    """--target, else the topo plugin's setting (--topo-target → TOPO_TARGET → ini topo_target)."""
    from harness.pytest_plugin import setting

    if config.getoption("--target"):
        return config.getoption("--target"), "option --target"
    return setting(config, "target")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "services(*names): services whose logs are evidence when the contract fails")
    config.addinivalue_line("markers", "control: needs to control containers (skipped on endpoints: targets)")
    config._topo_results = []  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str | None:
    if not any("contracts" in str(a) for a in config.args):
        return None
    target, source = resolve_target(config)
    return f"contracts: target {target} (from {source})"


@pytest.fixture(scope="session")
def contract_target(pytestconfig) -> str:
    return resolve_target(pytestconfig)[0]


@pytest.fixture(scope="session")
def contract_env(request, pytestconfig, contract_target, topo_file, topo_profile):
    """(stack or None, Endpoints), up once per session (harness.testing.start) and torn down after it; with
    --attach PROJECT the running stack (harness.testing.attach), left running."""
    from harness.testing import attach, start

    t0 = time.monotonic()
    profile = pytestconfig.getoption("--profile") or topo_profile
    attached = pytestconfig.getoption("--attach") or ""
    from harness.errors import TopoError

    env, why = None, ""
    try:
        if attached:  # a running stack: its own profile holds, and it is not torn down
            env = attach(topo_file, target=contract_target, project=attached)
            profile = None
        else:
            env = start(topo_file, target=contract_target, profile=profile)  # logs kept, stack removed on failure
    except TopoError as exc:  # a service that did not come up, a stack not running: said per contract, untraced
        why = str(exc)
    if env is None:
        pytest.fail(f"topo: the stack for the contracts is not up: {why}", pytrace=False)
    stack, endpoints = env.stack, env.endpoints
    pytestconfig._topo_timings = {"bring_up_s": round(time.monotonic() - t0, 1),  # type: ignore[attr-defined]
                                  "profile": profile or None, "attached": attached or None}
    pytestconfig._topo_stack = stack  # type: ignore[attr-defined]
    from harness.testing import usage  # measured CPU/memory → usage.json (`topo cost --compare`)

    sampler = usage.UsageSampler(stack.project if stack is not None else "", interval=5.0).start()  # cheap beside the load
    if stack is not None:
        from harness.testing import standin_verdict

        pytestconfig._topo_image_verdict = standin_verdict(stack.topology)  # type: ignore[attr-defined]
    else:
        pytestconfig._topo_image_verdict = (  # type: ignore[attr-defined]
            "verdict on a running environment: its images were not inspected by topo")
    started = time.monotonic()
    try:
        yield stack, endpoints
    finally:
        pytestconfig._topo_timings["contracts_s"] = round(time.monotonic() - started, 1)
        pytestconfig._topo_usage = sampler.stop(  # type: ignore[attr-defined] — never raises
            load="the contract suite (topo gate)", target=contract_target, events_pushed=None,
            images=getattr(pytestconfig, "_topo_image_verdict", None))
        if stack is not None:
            pytestconfig._topo_timings.update(stack.session_facts())  # e.g. the Lightsail group's peak memory
        t1 = time.monotonic()
        if attached:
            if request.session.testsfailed:
                try:
                    print(f"topo: logs of {attached} kept in {env.keep_logs()}")
                except Exception as exc:  # noqa: BLE001 — keeping logs must not hide the contracts' own failure
                    print(f"topo: could not keep the logs of {attached}: {exc}")
        else:
            env.close(failed=request.session.testsfailed > 0)  # a failed contract keeps every service's logs
        pytestconfig._topo_timings["teardown_s"] = round(time.monotonic() - t1, 1)


@pytest.fixture(scope="session")
def endpoints(contract_env):
    return contract_env[1]


@pytest.fixture(scope="session")
def stack(contract_env):
    """The running stack, for contracts that control containers. Skipped where the target gives no control."""
    if contract_env[0] is None:
        pytest.skip("this target gives no control over containers (an endpoints: file)")
    return contract_env[0]


@pytest.fixture(scope="session")
def events_per_fault(pytestconfig) -> int:
    return int(pytestconfig.getoption("--contract-events") or os.environ.get("TOPO_CONTRACT_EVENTS") or 2000)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    marker = item.get_closest_marker("services")
    stack = getattr(item.config, "_topo_stack", None)
    if marker and stack is not None:
        for service in marker.args:
            try:
                report.sections.append((f"last log lines of {service}", stack.compose.logs(service, tail=25)))
            except Exception as exc:  # noqa: BLE001 — evidence is best effort
                report.sections.append((f"logs of {service}", f"unavailable: {exc}"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    from_config = getattr(pytest_runtest_logreport, "config", None)
    if from_config is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        from_config._topo_results.append(report)


def pytest_sessionstart(session: pytest.Session) -> None:
    pytest_runtest_logreport.config = session.config  # type: ignore[attr-defined]
    session.config._topo_started = time.time()  # type: ignore[attr-defined]


def _promise(item_doc: str) -> str:
    return (item_doc or "").strip().splitlines()[0] if item_doc else ""


def pytest_collection_modifyitems(session, config, items) -> None:
    config._topo_docs = {i.nodeid: _promise(getattr(i.function, "__doc__", "") or "") for i in items}  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    folder = session.config.getoption("--contract-report")
    if not folder:
        return
    results = session.config._topo_results
    docs = getattr(session.config, "_topo_docs", {})
    target, source = resolve_target(session.config)
    rows = []
    phases: dict[str, dict] = {}
    for r in results:
        area = r.nodeid.split("::")[0].split("/")[-1].removeprefix("test_").removesuffix(".py")
        name = r.nodeid.split("::")[-1]
        verdict = "PASS" if r.passed else "SKIP" if r.skipped else "FAIL"
        evidence = ""
        if r.failed:
            evidence = str(r.longrepr.reprcrash.message if hasattr(r.longrepr, "reprcrash") and r.longrepr.reprcrash
                           else r.longrepr)[:1500]
            for title, text in r.sections:
                if title.startswith("last log lines") or title.startswith("logs of"):
                    evidence += f"\n--- {title} ---\n{text[-2500:]}"
        elif r.skipped:
            evidence = str(r.longrepr[2]) if isinstance(r.longrepr, tuple) else ""
        promise = docs.get(r.nodeid, "")
        checked = [line.removeprefix("checked: ").strip() for title, text in r.sections if title.startswith("Captured stdout")
                   for line in text.splitlines() if line.startswith("checked: ")]
        if checked:  # a contract that prints "checked: WHAT" says how much it checked, shown beside its promise
            promise += f" (checked: {'; '.join(checked)})"
        for title, text in r.sections:  # "phases: {json}" (support.Laps): where the contract's time went
            for line in text.splitlines() if title.startswith("Captured stdout") else ():
                if line.startswith("phases: "):
                    phases[name] = json.loads(line.removeprefix("phases: "))
        rows.append((area, name, promise, verdict, r.duration, evidence))
    failed = sum(1 for row in rows if row[3] == "FAIL")
    skipped = sum(1 for row in rows if row[3] == "SKIP")
    skip_reasons: dict[str, int] = {}
    for row in rows:
        if row[3] == "SKIP":
            why = row[5].removeprefix("Skipped: ").strip() or "no reason given"
            skip_reasons[why] = skip_reasons.get(why, 0) + 1
    partial_line = ("**PARTIAL: " + f"{skipped} of {len(rows)} contracts skipped — "
                    + "; ".join(f"{n} because {why}" for why, n in skip_reasons.items())
                    + ". A gate with skipped contracts proves less than a full one.**") if skipped else ""
    from contracts import variants

    record = Path(session.config.getoption("--broken-variants") or variants.default_path(session.config.rootpath))
    variant_rows = variants.table(variants.areas_in(Path(__file__).parent), variants.load(record))
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    took = time.time() - getattr(session.config, "_topo_started", time.time())
    images = getattr(session.config, "_topo_image_verdict", "")
    md = [f"# Contract report — target `{target}`", "",
          f"{len(rows)} contracts, **{failed} violated**, {sum(r[3] == 'SKIP' for r in rows)} skipped; "
          f"{took:.0f} s in all. Target chosen by {source}.", "",
          f"**{images or 'verdict: images not known (no stack was brought up)'}**",
          ""] + ([partial_line, ""] if partial_line else []) + [
          "| area | contract | promise | verdict | seconds |", "|---|---|---|---|---|"]
    for area, name, promise, verdict, dur, _ in rows:
        md.append(f"| {area} | `{name}` | {promise} | {'✅ PASS' if verdict == 'PASS' else '❌ FAIL' if verdict == 'FAIL' else '⏭ SKIP'} | {dur:.1f} |")
    for area, name, promise, verdict, _dur, evidence in rows:
        if verdict != "PASS" and evidence:
            md += ["", f"## {verdict}: {area} / {name}", "", promise, "", "```", evidence.strip(), "```"]
    md += [""] + variants.markdown(variant_rows)
    timings = getattr(session.config, "_topo_timings", {})
    if timings.get("attached"):
        md[2] += (f" Attached to the running stack `{timings['attached']}` (not brought up or torn down here; its "
                  f"own profile). Contracts {timings.get('contracts_s', '?')} s.")
    elif timings:
        md[2] += (f" Bring-up {timings.get('bring_up_s', '?')} s, contracts {timings.get('contracts_s', '?')} s, "
                  f"teardown {timings.get('teardown_s', '?')} s. Profile: "
                  + (f"`{timings['profile']}` (topology.yaml `profiles:`)." if timings.get("profile")
                     else "none (the topology as written)."))
    (out / "contracts.md").write_text("\n".join(md) + "\n")
    (out / "contracts.json").write_text(json.dumps({
        "target": target, "images": images, "violated": failed, "total": len(rows), "skipped": skipped,
        "partial": bool(skipped), "skip_reasons": skip_reasons, "seconds": round(took, 1), **timings,
        "contracts": [{"area": a, "name": n, "promise": p, "verdict": v, "seconds": round(d, 2),
                       **({"why": e.removeprefix("Skipped: ").strip()} if v == "SKIP" else {}),
                       **({"phases": phases[n]} if n in phases else {})}
                      for a, n, p, v, d, e in rows],
        "broken_variants": {"record": str(record), "rows": variant_rows}}, indent=2) + "\n")
    if getattr(session.config, "_topo_usage", None):  # harness/runtime/usage.py: what the services used
        (out / "usage.json").write_text(json.dumps(session.config._topo_usage, indent=2) + "\n")
    cells = "".join(
        f"<tr class='{v.lower()}'><td>{html.escape(a)}</td><td><code>{html.escape(n)}</code></td><td>{html.escape(p)}</td>"
        f"<td>{v}</td><td>{d:.1f}</td><td><pre>{html.escape(e)}</pre></td></tr>" for a, n, p, v, d, e in rows)
    variant_cells = "".join(
        f"<tr class='skip'><td>{html.escape(r['area'])}</td><td><i>{variants.NONE_ON_RECORD}</i></td><td>—</td><td>—</td></tr>"
        if r["variant"] is None else
        f"<tr class='{'pass' if r['caught'] else 'fail'}'><td>{html.escape(r['area'])}</td>"
        f"<td>{html.escape(r['variant'])}</td><td>{'yes' if r['caught'] else 'NO'}</td>"
        f"<td>{html.escape(r['when'])} ({html.escape(r['commit'])})</td></tr>" for r in variant_rows)
    (out / "contracts.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>Contract report</title><style>body{font-family:sans-serif}"
        "td,th{border:1px solid #ccc;padding:4px;vertical-align:top}.fail{background:#fdd}.pass{background:#efe}"
        "pre{white-space:pre-wrap;max-width:60em;margin:0}</style>"
        f"<h1>Contract report — target {html.escape(target)}</h1><p>{len(rows)} contracts, {failed} violated, "
        f"{skipped} skipped. Bring-up {timings.get('bring_up_s', '?')} s, contracts {timings.get('contracts_s', '?')} s, "
        f"teardown {timings.get('teardown_s', '?')} s. Profile: {html.escape(timings.get('profile') or 'none')}.</p>"
        + (f"<p class='skip'><b>{html.escape(partial_line.strip('*'))}</b></p>" if partial_line else "")
        + f"<p><b>{html.escape(images)}</b></p>"
        f"<table><tr><th>area</th><th>contract</th><th>promise</th><th>verdict</th><th>s</th><th>evidence</th></tr>{cells}</table>"
        "<h2>Broken variants each contract area has been shown to catch</h2><p>From the broken-variant tests' own "
        "results (<code>@pytest.mark.catches</code>, reports/broken-variants.json); caught = the contract failed on "
        "the broken variant, as it must.</p><table><tr><th>area</th><th>broken variant</th><th>caught</th>"
        "<th>when (commit)</th></tr>" + variant_cells + "</table>")
