"""Which services answer on a Railway private network that resolves names to IPv6 only (environments created
before 2025-10-16, docs/research/railway-facts.md section 3)? One command:

    .venv/bin/python bench/railway_ipv6_only.py

Brings up an ephemeral railway-emulation stack with `railway.private_network: ipv6-only`, then, from inside the
backend container, opens a TCP connection to every port of every service by its `<service>.railway.internal`
name, prints open/refused per port and tears the stack down. A server bound to 0.0.0.0 is refused there."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

from _lib import prepare, topology  # noqa: F401 — _lib puts the project on sys.path

PROBE = ("import socket, sys, json\nout = {}\n"
         "for target in sys.argv[1:]:\n    host, port = target.rsplit(':', 1)\n"
         "    try:\n        socket.create_connection((host, int(port)), 3).close(); out[target] = 'open'\n"
         "    except Exception as e:\n        out[target] = type(e).__name__\n"
         "print(json.dumps(out))\n")


def main() -> int:
    t = topology()
    t = dataclasses.replace(t, railway=dataclasses.replace(t.railway, private_network="ipv6-only"))
    env = prepare(t, target="railway-emulation", project="deml-bench-v6")
    stack = env.stack
    try:
        env.up(deadline=300, on_event=lambda who, state, detail: print(f"  {who}: {state} {detail}", file=sys.stderr))
        targets = [f"{s.name}.railway.internal:{p.port}" for s in t.services for p in s.ports]
        out = subprocess.run(["docker", "exec", stack.compose.container_id("backend"), "python3", "-c", PROBE, *targets],
                             capture_output=True, text=True, check=True)
        seen = json.loads(out.stdout)
    finally:
        env.close()
    width = max(map(len, seen))
    for target, state in seen.items():
        print(f"{target:<{width}}  {state}")
    refused = [k for k, v in seen.items() if v != "open"]
    print(f"{len(seen) - len(refused)} of {len(seen)} ports answer over IPv6 only; refused: {', '.join(refused) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
