"""Benchmark of the contract gate: wall time split into bring-up, contracts and teardown, the fault contracts'
event counts and phases, the ratio to a floor measured in the same run, and (aws-emulation) the Lightsail group's
peak memory against its declared power.

Floor (defined here, measured in the same run): bring-up + teardown + the time the fault contracts spent pushing
their events through the pipeline once (their `load` phase and the wait until projected and drained). What the
gate spends above it is fault set-up and recovery (recreating a service with its fault switched on and off,
restarts) and the short contracts. The events themselves are CPU-bound on a small machine: see the per-phase
figures.

    .venv/bin/python bench/gate.py [--target aws-emulation|compose] [--events 2000] [-k EXPR]

Images must be built (`make images`); the gate brings its own ephemeral stack up and down. Goals: gate ≤ 120 s
with warm images (issue 6; the fault contracts dominate, so the figure is printed per part), Lightsail peak
memory / power ≤ 1.0 (issue 5). Prints a table and one JSON line.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="aws-emulation")
    ap.add_argument("--events", type=int, default=2000, help="events per fault contract")
    ap.add_argument("-k", dest="select", default=None, help="only contracts matching this expression")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "harness.cli", "gate", "--target", args.target, "--events", str(args.events),
               "--report-dir", tmp] + (["-k", args.select] if args.select else [])
        t0 = time.monotonic()
        code = subprocess.call(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.monotonic() - t0
        data = json.loads((Path(tmp) / "contracts.json").read_text())
        if code != 0:  # keep the evidence: the temporary folder goes away
            kept = ROOT / "reports" / "bench-gate-failed.md"
            kept.parent.mkdir(exist_ok=True)
            kept.write_text((Path(tmp) / "contracts.md").read_text())
            print(f"the gate failed: its report is kept in {kept}")
    faults = {c["name"]: c["seconds"] for c in data["contracts"] if c["area"] == "idempotency_faults"}
    phases = {c["name"]: c["phases"] for c in data["contracts"] if c.get("phases")}
    pushing = sum(v for ph in phases.values() for k, v in ph.items()
                  if k in ("load", "first half", "all again", "a third projected", "rest acknowledged",
                           "projected and drained"))
    floor = (data.get("bring_up_s") or 0) + (data.get("teardown_s") or 0) + pushing
    print(f"gate on {args.target}: exit {code}, {data['total']} contracts, {data['violated']} violated")
    print(f"  wall {wall:.1f} s = validate/render/budget {wall - data['seconds']:.1f} s + pytest {data['seconds']:.1f} s")
    print(f"  bring-up {data.get('bring_up_s')} s, contracts {data.get('contracts_s')} s, teardown {data.get('teardown_s')} s")
    print(f"  profile {data.get('profile') or 'none'}")
    for name, seconds in faults.items():
        detail = ", ".join(f"{k} {v:.1f} s" for k, v in phases.get(name, {}).items())
        print(f"  fault contract {name}: {args.events} events, {seconds:.1f} s ({detail})")
    print(f"  floor {floor:.1f} s = bring-up + teardown + events pushed through once ({pushing:.1f} s); "
          f"wall / floor = {wall / floor:.2f}" if floor else "  floor: no phases reported")
    if data.get("lightsail_peak_mib") is not None:
        print(f"  Lightsail group peak memory {data['lightsail_peak_mib']} MiB of {data['lightsail_power_mib']} MiB "
              f"({data['lightsail_power']}): ratio {data['lightsail_peak_ratio']} (goal ≤ 1.0)")
    print(json.dumps({"target": args.target, "exit": code, "wall_s": round(wall, 1), "events": args.events,
                      "floor_s": round(floor, 1), "wall_over_floor": round(wall / floor, 2) if floor else None,
                      **{k: v for k, v in data.items() if k not in ("contracts", "broken_variants")},
                      "fault_contract_s": faults, "phases": phases}))


if __name__ == "__main__":
    main()
