"""Benchmark of the contract gate: wall time split into bring-up, contracts and teardown, the fault contracts'
event counts, and (aws-emulation) the Lightsail group's peak memory against its declared power.

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
    faults = {c["name"]: c["seconds"] for c in data["contracts"] if c["area"] == "idempotency_faults"}
    print(f"gate on {args.target}: exit {code}, {data['total']} contracts, {data['violated']} violated")
    print(f"  wall {wall:.1f} s = validate/render/budget {wall - data['seconds']:.1f} s + pytest {data['seconds']:.1f} s")
    print(f"  bring-up {data.get('bring_up_s')} s, contracts {data.get('contracts_s')} s, teardown {data.get('teardown_s')} s")
    for name, seconds in faults.items():
        print(f"  fault contract {name}: {args.events} events, {seconds:.1f} s")
    if data.get("lightsail_peak_mib") is not None:
        print(f"  Lightsail group peak memory {data['lightsail_peak_mib']} MiB of {data['lightsail_power_mib']} MiB "
              f"({data['lightsail_power']}): ratio {data['lightsail_peak_ratio']} (goal ≤ 1.0)")
    print(json.dumps({"target": args.target, "exit": code, "wall_s": round(wall, 1), "events": args.events,
                      **{k: v for k, v in data.items() if k != "contracts"}, "fault_contract_s": faults}))


if __name__ == "__main__":
    main()
