#!/usr/bin/env python3
"""Benchmark of `topo migrate`: a rehearsed switch between two hosts on two ephemeral stacks of the reference
topology (default railway-emulation → aws-emulation), brought up at once on disjoint shifted ports.

  load      --events into FROM: 4 of 5 through the ingestEvent callable (every 20th sent twice with the same
            event_id), 1 of 5 as backend actions (outbox → relay → topic)
  migrate   harness.migrate.migrate: freeze FROM, pg_dump → pg_restore, ClickHouse JSONEachRow, topics copied
            partition by partition, TO's projections rebuilt, switch; the data equivalence report
  contracts the contract gate on TO (`topo gate --attach`, --contract-events per fault contract)

Prints the report's tables, events/s moved, the write downtime and one `RESULT {json}` line; writes
reports/migrate-FROM-TO.{json,txt}. Exit 1 when the report finds anything lost, duplicated, changed or reordered,
or a contract failed on TO; with --broken, exit 0 only when the report names the dropped partition. Both stacks are
always torn down (with volumes; logs kept in reports/logs/ when something raised).

    .venv/bin/python bench/migrate.py [--events 500] [--from railway-emulation] [--to aws-emulation]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _lib  # noqa: E402
from _lib import ROOT  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=500, help="events loaded into FROM before the switch")
    ap.add_argument("--from", dest="source", default="railway-emulation", help="the host FROM runs on")
    ap.add_argument("--to", dest="target", default="aws-emulation", help="the host TO runs on")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds each wait of the switch may take")
    ap.add_argument("--keep", action="store_true", help="leave both stacks running (prints how to remove them)")
    ap.add_argument("--contract-events", type=int, default=200,
                    help="events per fault contract of the gate run on TO after the switch")
    ap.add_argument("--no-contracts", action="store_true", help="skip the contract gate on TO")
    ap.add_argument("--broken", choices=["drop-partition"], default=None,
                    help="a broken variant of the switch, to show the report catches it: drop-partition reads the "
                         "first non-empty partition but produces none of it to TO (exit 0 only when caught)")
    args = ap.parse_args()

    from harness import migrate as m
    from harness.errors import TopoError

    dropped: list = []
    if args.broken == "drop-partition":
        dropped = break_topic_copy(m)
        args.no_contracts = True  # TO is broken on purpose: the report must catch it, not the contracts
    try:
        report, summary = m.rehearse(ROOT / "topology.yaml", args.source, args.target, args.events, log,
                                     keep=args.keep, timeout=args.timeout, report_dir=ROOT / "reports",
                                     contract_events=None if args.no_contracts else args.contract_events)
    except TopoError as exc:
        log(f"migration rehearsal failed: {exc}")
        return 2
    js, txt = m.write_report(report, ROOT / "reports")
    print(m.render(report))
    print(f"\nevents/s moved: {summary['events_per_s_moved']} (loaded events / write downtime); messages/s copied: "
          f"{summary['messages_per_s']}; write downtime: {summary['write_downtime_s']} s; report: {js}, {txt}")
    _lib.dump_json("RESULT", summary | {"seconds": report["seconds"], "broken": args.broken})
    if args.broken:
        named = [f"topic {t}[{p}]: " for t, p in dropped]
        caught = bool(named) and any(e.startswith(n) for e in report["verdict"]["evidence"] for n in named)
        log(f"broken variant {args.broken}: " + ("CAUGHT: the report names " + ", ".join(n.rstrip(': ') for n in named)
                                                 if caught else "NOT caught (the report does not name the dropped "
                                                 "partition)"))
        return 0 if caught else 1
    return 0 if report["verdict"]["ok"] else 1


def break_topic_copy(m) -> list:
    """The broken variant: the copy reads the first non-empty partition from FROM and produces none of it.
    Returns the list the dropped (topic, partition) is appended to."""
    real = m.read_range
    dropped: list = []

    def read_range(src, topic, p, lo, hi, timeout, say, forward=None):
        if not dropped and hi > lo:
            dropped.append((topic, p))
            say(f"  BROKEN VARIANT: {topic}[{p}] read from FROM but not produced to TO")
            return real(src, topic, p, lo, hi, timeout, say, lambda _msg: None)
        return real(src, topic, p, lo, hi, timeout, say, forward)

    m.read_range = read_range
    return dropped


if __name__ == "__main__":
    sys.exit(main())
