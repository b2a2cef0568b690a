#!/usr/bin/env python3
"""Measured CPU and memory per service, idle and under a bounded load, for `topo cost --compare railway aws`.

Brings up an ephemeral compose stack (unique project, shifted ports), samples every container with
harness/runtime/usage.py (Docker stats API every --interval s) for --idle-seconds with no load, then again while
--events events are pushed (half through the ingestEvent callable, half through the backend's outbox, as
bench/pipeline.py does) and until they are projected, tears the stack down with its volumes, prints the figures and
writes them to --out (default reports/usage.json): per service average vCPU, average and peak memory, the window,
the events pushed, when, where and by which command.

Refuses to start while another compose project is running (the host is shared and small: the figures would be
someone else's too). Bounded by --max-seconds (load + drain).

    .venv/bin/python bench/usage.py [--events 1000] [--idle-seconds 30] [--out reports/usage.json]
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _lib  # noqa: E402
import pipeline  # noqa: E402  (its load generators: Http, Phase, run_load, ingest_sender, outbox_sender)

from harness.testing import usage  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def running_compose_projects() -> list[str]:
    """Every compose project with a running container: any of them may be a topo stack under another name."""
    out = _lib.docker("ps", "--format", '{{.Label "com.docker.compose.project"}}')
    return sorted(set(out.split()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1000, help="events pushed under load (1000), half ingestEvent, "
                    "half outbox")
    ap.add_argument("--idle-seconds", type=float, default=30, help="idle window sampled before the load (30; 0 = skip)")
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between samples (2)")
    ap.add_argument("--workers", type=int, default=8, help="concurrent client threads (8)")
    ap.add_argument("--max-seconds", type=float, default=300, help="bound of load + drain (300)")
    ap.add_argument("--out", type=Path, default=_lib.ROOT / "reports" / "usage.json", help="usage file to write")
    args = ap.parse_args()

    from harness.testing import clients

    busy = running_compose_projects()
    if busy:
        print(f"other compose projects are running ({', '.join(busy)}): not measuring on a shared host (their load "
              f"would be in the figures); try again when `docker ps` shows none", file=sys.stderr)
        return 2
    command = "python bench/usage.py " + shlex.join(sys.argv[1:])
    env = _lib.ephemeral("benchusage")
    stack = env.stack
    doc: dict = {}
    try:
        log(f"bringing up ephemeral stack {stack.project} (port offset {stack.port_offset})")
        env.up()
        log(f"    up in {env.seconds['total']} s")
        e = env.endpoints
        http = pipeline.Http(e)
        token = clients.sign_in(e.auth_host, e.firebase_project, pipeline.TENANT).id_token

        idle = None
        if args.idle_seconds > 0:
            log(f"idle: sampling {args.idle_seconds:.0f} s with no load")
            s = usage.UsageSampler(stack.project, interval=args.interval).start()
            time.sleep(args.idle_seconds)  # the idle window itself is what is measured, not a wait for a service
            idle = s.stop()
            log(f"    {idle['rounds']} rounds over {idle['window_s']} s" + (f"; {idle['unavailable']}" if idle["unavailable"] else ""))

        log(f"load: {args.events} events ({args.events - args.events // 2} ingestEvent, {args.events // 2} outbox), "
            f"{args.workers} clients, sampling every {args.interval:g} s")
        sampler = usage.UsageSampler(stack.project, interval=args.interval).start()
        hard = time.monotonic() + args.max_seconds
        base = http.count()
        phases = []
        for name, n, make in (("ingest", args.events - args.events // 2, pipeline.ingest_sender),
                              ("outbox", args.events // 2, pipeline.outbox_sender)):
            ph = pipeline.Phase(name)
            phases.append(ph)
            pipeline.run_load(ph, n, args.workers, hard, make(http, e, token, ph))
            log(f"    {name}: accepted {len(ph.acked)}, failed {ph.failed} {ph.errors or ''}"
                + (f"; STOPPED EARLY: {ph.stopped_early}" if ph.stopped_early else ""))
        both = pipeline.Phase("all")
        both.acked = {k: v for ph in phases for k, v in ph.acked.items()}
        pipeline.wait_drained(http, both, base, max(hard, time.monotonic() + 30), stall=60)
        accepted = len(both.acked)
        from harness.testing import standin_verdict

        doc = sampler.stop(
            command=command, target="compose", events_pushed=accepted, images=standin_verdict(stack.topology),
            load=(f"{accepted} events accepted of {args.events} pushed ({args.events - args.events // 2} through "
                  f"ingestEvent, {args.events // 2} through the backend's outbox, {args.workers} client threads), "
                  f"window = load + until projected ({'complete' if both.drain.get('complete') else 'INCOMPLETE'})"),
            drain=both.drain,
            idle=({k: idle[k] for k in ("window_s", "rounds", "unavailable", "services")} if idle else None))
    finally:
        _lib.teardown(env, log)
    if not doc:
        return 1
    usage.write(args.out, doc)
    report(doc, args.out)
    return 0 if not doc.get("unavailable") else 1


def report(doc: dict, out: Path) -> None:
    m = doc["measured"]
    print()
    print(f"usage — {doc['load']}")
    print(f"  measured {m['at']} on {m['host']} ({m['cpus']} CPUs, Docker {m['docker_engine']}), "
          f"window {doc['window_s']} s, {doc['rounds']} rounds every {doc['interval_s']:g} s; command: {doc['command']}")
    idle = (doc.get("idle") or {}).get("services") or {}
    print(f"  {'service':<18} {'avg vCPU':>9} {'avg MiB':>9} {'peak MiB':>9} {'idle vCPU':>10} {'idle MiB':>9}")
    for svc, s in doc["services"].items():
        i = idle.get(svc, {})
        print(f"  {svc:<18} {s['avg_vcpu']:>9.3f} {s['avg_mem_mib'] or 0:>9.1f} {s['peak_mem_mib'] or 0:>9.1f} "
              f"{i.get('avg_vcpu', 0):>10.3f} {i.get('avg_mem_mib') or 0:>9.1f}")
    tot = doc["services"].values()
    print(f"  {'all':<18} {sum(s['avg_vcpu'] for s in tot):>9.3f} {sum(s['avg_mem_mib'] or 0 for s in tot):>9.1f}")
    print(f"  {doc['images']}")
    if doc.get("unavailable"):
        print(f"  NO MEASUREMENT: {doc['unavailable']}")
    print(f"wrote {out}; price it with `topo cost --compare railway aws --usage {out}`")
    _lib.dump_json("RESULT", {k: doc[k] for k in ("window_s", "events_pushed", "services")})


if __name__ == "__main__":
    sys.exit(main())
