#!/usr/bin/env python3
"""Benchmark of bringing the stack up, on ONE ephemeral compose project (never the `make up` stack):

  (a) cold `topo up`: no container and no volume of the project exists, images are present;
  (b) warm `topo up`: again while everything runs (idempotent re-up), and from the stopped state
      (`docker compose stop`: containers exist, stopped);
  (c) plain `docker compose -p P -f FILE --env-file .topo/secrets.env up -d --wait` on the same rendered file from
      the same stopped state; ratio warm-topo-up(stopped) / compose-up-wait. (b)/(c) alternate, --rounds times,
      medians reported. topo additionally runs real probes (Kafka SASL metadata, SELECT 1, Firestore write/read,
      Auth sign-up, ...) and the idempotent bootstrap, which `--wait` (Docker healthchecks only) does not;
  (d) peak memory of the whole stack: `docker stats --no-stream` every ~2 s over a window while light load runs
      (ingestEvent calls); per-service peak and the sum of the peaks.

The stack is always torn down (containers + volumes). Prints a table and one `RESULT {json}` line.

    .venv/bin/python bench/up.py [--rounds 3] [--mem-window 30] [--mem-calls 200]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _lib  # noqa: E402
from _lib import ROOT, median  # noqa: E402


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def images_present(topology) -> tuple[bool, list[str]]:
    from harness.testing import images_missing

    missing = images_missing(topology)
    return not missing, missing


def topo_up(stack) -> tuple[float, dict]:
    t0 = time.monotonic()
    report = stack.up()
    return time.monotonic() - t0, dict(report.seconds)


def compose_stop(stack) -> float:
    t0 = time.monotonic()
    stack.compose("stop")
    return time.monotonic() - t0


def compose_up_wait(stack, timeout: int) -> float:
    cmd = stack.compose.base() + ["up", "-d", "--wait", "--wait-timeout", str(timeout)]
    t0 = time.monotonic()
    out = subprocess.run(cmd, capture_output=True, text=True, env=stack.compose.env(), cwd=ROOT)
    elapsed = time.monotonic() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {(out.stderr or out.stdout)[-600:]}")
    return elapsed


def states(stack) -> str:
    rows = stack.compose.ps()
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("State", "?")] = counts.get(r.get("State", "?"), 0) + 1
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no containers"


def memory_window(env, window: float, interval: float, calls: int, workers: int) -> dict:
    """Sample docker stats while `calls` ingestEvent calls run spread over the window; return per-service peaks."""
    from harness.testing import clients

    stack, e = env.stack, env.attach().endpoints
    user = clients.sign_in(e.auth_host, e.firebase_project, "acme")
    names = _lib.project_containers(stack.project, all_states=False)
    peaks: dict[str, float] = {}
    limits: dict[str, str] = {}
    samples = 0
    sums: list[float] = []
    ok = failed = 0
    lock = threading.Lock()
    t_start = time.monotonic()

    def one(i: int) -> None:
        nonlocal ok, failed
        # spread the calls evenly over the window: light, steady load
        delay = t_start + i * (window * 0.9 / max(1, calls)) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        try:
            r = clients.call(e.functions_url, e.firebase_project, "ingestEvent",
                             {"type": "page.view", "payload": {"path": f"/bench/{i}"}, "event_id": str(uuid.uuid4())},
                             user.id_token)
            good = r.status_code == 200 and "result" in r.json()
        except Exception:  # noqa: BLE001
            good = False
        with lock:
            if good:
                ok += 1
            else:
                failed += 1

    pool = ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(one, i) for i in range(calls)]
    while time.monotonic() - t_start < window:
        t0 = time.monotonic()
        out = _lib.docker("stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", *names)
        total = 0.0
        for line in out.splitlines():
            parts = line.split(None, 1)
            if len(parts) != 2 or parts[0] not in names:
                continue
            used, _, limit = parts[1].partition("/")
            b = _lib.parse_size(used)
            svc = names[parts[0]]
            total += b
            peaks[svc] = max(peaks.get(svc, 0.0), b)
            limits[svc] = limit.strip()
        sums.append(total)
        samples += 1
        time.sleep(max(0.0, interval - (time.monotonic() - t0)))
    for f in futures:
        f.result()
    pool.shutdown()
    return {"peaks_mib": {k: round(v / 2 ** 20, 1) for k, v in sorted(peaks.items())},
            "limits": limits, "samples": samples,
            "sum_of_peaks_mib": round(sum(peaks.values()) / 2 ** 20, 1),
            "peak_of_sum_mib": round(max(sums) / 2 ** 20, 1) if sums else 0.0,
            "window_s": round(time.monotonic() - t_start, 1), "calls_ok": ok, "calls_failed": failed}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="alternating warm topo-up / compose-up-wait rounds (3)")
    ap.add_argument("--mem-window", type=float, default=30.0, help="seconds of docker-stats sampling (30)")
    ap.add_argument("--mem-interval", type=float, default=2.0, help="seconds between samples (2)")
    ap.add_argument("--mem-calls", type=int, default=200, help="ingestEvent calls during the memory window (200)")
    ap.add_argument("--mem-workers", type=int, default=4, help="threads issuing those calls (4)")
    ap.add_argument("--wait-timeout", type=int, default=300, help="`compose up --wait-timeout` seconds (300)")
    args = ap.parse_args()

    env = _lib.ephemeral("benchup")
    stack = env.stack
    topology = stack.topology
    res: dict = {"project": stack.project, "port_offset": stack.port_offset}
    present, missing = images_present(topology)
    res["images_present"] = present
    log(f"project {stack.project}, port offset {stack.port_offset}; images present: "
        f"{'all ' + str(len(topology.images)) if present else 'MISSING ' + ', '.join(missing)}")
    if not present:
        print("images are missing: run `topo images build` first (a cold up would include pulls/builds)")
        return 2
    containers, volumes = _lib.project_containers(stack.project), _lib.project_volumes(stack.project)
    if containers or volumes:
        print(f"project {stack.project} is not cold: {len(containers)} containers, {len(volumes)} volumes")
        return 2
    try:
        # (a) cold
        log("(a) cold topo up: 0 containers, 0 volumes of the project exist; images present")
        cold, cold_phases = topo_up(stack)
        res["cold_up_s"] = round(cold, 2)
        res["cold_phases_s"] = cold_phases
        log(f"    cold up {cold:.1f} s  phases {cold_phases}")

        warm_running, warm_stopped, plain, stops = [], [], [], []
        for i in range(args.rounds):
            # idempotent re-up while everything runs
            t, _ = topo_up(stack)
            warm_running.append(t)
            log(f"round {i + 1}: topo up while running {t:.1f} s")
            order = ["topo", "compose"] if i % 2 == 0 else ["compose", "topo"]
            for which in order:
                stops.append(compose_stop(stack))
                state = states(stack)
                if which == "topo":
                    t, phases = topo_up(stack)
                    warm_stopped.append(t)
                    log(f"round {i + 1}: topo up from stopped ({state}) {t:.1f} s  phases {phases}")
                else:
                    t = compose_up_wait(stack, args.wait_timeout)
                    plain.append(t)
                    log(f"round {i + 1}: compose up -d --wait from stopped ({state}) {t:.1f} s")
        res.update({
            "warm_running_s": [round(x, 2) for x in warm_running],
            "warm_stopped_s": [round(x, 2) for x in warm_stopped],
            "compose_up_wait_s": [round(x, 2) for x in plain],
            "compose_stop_s": [round(x, 2) for x in stops],
            "warm_running_median_s": round(median(warm_running), 2),
            "warm_stopped_median_s": round(median(warm_stopped), 2),
            "compose_up_wait_median_s": round(median(plain), 2),
        })
        res["ratio_warm_topo_over_compose_wait"] = round(median(warm_stopped) / median(plain), 3)
        # each round measures both back to back, so the per-round ratio cancels part of the host's noise
        res["ratio_per_round"] = [round(a / b, 3) for a, b in zip(warm_stopped, plain)]
        res["ratio_median_of_rounds"] = round(median(res["ratio_per_round"]), 3)

        # make sure the stack is healthy again (probes + bootstrap) before the memory window
        topo_up(stack)
        log(f"(d) memory: docker stats every {args.mem_interval:.0f} s for {args.mem_window:.0f} s "
            f"during {args.mem_calls} ingestEvent calls")
        res["memory"] = memory_window(env, args.mem_window, args.mem_interval, args.mem_calls, args.mem_workers)
    finally:
        _lib.teardown(env, log)

    # ---- report ------------------------------------------------------------------------------------------------
    print()
    print(f"topo up benchmark — project {res['project']} (ephemeral), {args.rounds} alternating rounds, "
          f"images present, 2-core shared host")
    print(f"  {'measure':<52} {'median s':>9}   runs")
    print(f"  {'(a) cold topo up (no containers, no volumes)':<52} {res['cold_up_s']:>9.1f}   "
          f"data_plane {cold_phases.get('data_plane')} / bootstrap {cold_phases.get('bootstrap')} / "
          f"healthy {cold_phases.get('healthy')}")
    print(f"  {'(b) warm topo up, everything running (re-up)':<52} {res['warm_running_median_s']:>9.1f}   "
          f"{res['warm_running_s']}")
    print(f"  {'(b) warm topo up from stopped containers':<52} {res['warm_stopped_median_s']:>9.1f}   "
          f"{res['warm_stopped_s']}")
    print(f"  {'(c) docker compose up -d --wait from stopped':<52} {res['compose_up_wait_median_s']:>9.1f}   "
          f"{res['compose_up_wait_s']}")
    print(f"  {'    docker compose stop':<52} {median(stops):>9.1f}   {res['compose_stop_s']}")
    ratio = res["ratio_warm_topo_over_compose_wait"]
    print(f"  ratio warm topo up / compose up --wait = {ratio:.2f}  (goal <= 1.15: "
          f"{'met' if ratio <= 1.15 else 'NOT met'}; topo also runs real probes + bootstrap)")
    print(f"  per-round ratios {res['ratio_per_round']} → median {res['ratio_median_of_rounds']:.2f} "
          f"(each round's pair ran back to back; order alternated)")
    m = res["memory"]
    print(f"  (d) memory over {m['window_s']} s, {m['samples']} samples, {m['calls_ok']} ingestEvent calls ok, "
          f"{m['calls_failed']} failed:")
    for svc, mib in m["peaks_mib"].items():
        print(f"      {svc:<18} peak {mib:>8.1f} MiB   (limit {m['limits'].get(svc, '?')})")
    print(f"      {'sum of peaks':<18}      {m['sum_of_peaks_mib']:>8.1f} MiB   "
          f"(peak of per-sample sum {m['peak_of_sum_mib']:.1f} MiB)")
    _lib.dump_json("RESULT", res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
