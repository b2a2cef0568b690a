#!/usr/bin/env python3
"""Benchmark of the event pipeline, end to end, on an ephemeral stack (or a running one with --reuse-project):

  direct    the limit: the worker's Firestore transaction (deml.projections.apply_batch) run from the host against the
            same emulator, no broker in between, at --workers concurrency and at 1 (the single consumer); plus
            the other per-event costs of the worker (one-row ClickHouse insert, Dragonfly EXISTS+SET)
  paced     ingestEvent at --pace events/s for --pace-seconds: ingest→projection latency p50/p95/p99 at that rate
            (and paced2 at --extra-pace events/s, a rate below the single consumer's capacity)
  ingest    (a) --events × ingest-share through the ingestEvent callable, --workers concurrent calls
  outbox    (b) the rest through the backend (POST /api/tenants/acme/actions → outbox → daemon relay → Kafka)

Latency = Firestore `projected_at` (server timestamp written by the telemetry-worker's transaction) minus the
client's send time of that event_id. Projections are read back with paged runQuery (select + orderBy __name__).
Throughput: accepted/s (answers of the callable or backend) and projected/s. The load is bounded by --events and
by --max-seconds (load + drain of all phases; the load stops early and says so). The app code is not changed.
The stack is always torn down (unless reused).

    .venv/bin/python bench/pipeline.py [--events 20000] [--max-seconds 900] [--workers 16]
"""
from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _lib  # noqa: E402
from _lib import pct  # noqa: E402

TENANT = "acme"
DIRECT_TENANT = "bench-direct"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Http:
    """One requests.Session per thread (keep-alive), Firestore REST helpers."""

    def __init__(self, e):
        self.e = e
        self.local = threading.local()
        self.docs = f"http://{e.firestore_host}/v1/projects/{e.firebase_project}/databases/(default)/documents"

    @property
    def s(self) -> requests.Session:
        if not hasattr(self.local, "s"):
            self.local.s = requests.Session()
        return self.local.s

    def count(self, tenant: str = TENANT) -> int:
        from harness.testing import clients

        return clients.firestore_count(self.e.firestore_host, self.e.firebase_project, f"tenants/{tenant}", "events")

    def projections(self, tenant: str = TENANT, page: int = 5000) -> dict[str, float]:
        """event_id → projected_at (epoch s) of every projection of the tenant (paged runQuery)."""
        out: dict[str, float] = {}
        last = None
        while True:
            q = {"from": [{"collectionId": "events"}],
                 "select": {"fields": [{"fieldPath": "event_id"}, {"fieldPath": "projected_at"}]},
                 "orderBy": [{"field": {"fieldPath": "__name__"}, "direction": "ASCENDING"}], "limit": page}
            if last:
                q["startAt"] = {"values": [{"referenceValue": last}], "before": False}
            r = self.s.post(f"{self.docs}/tenants/{tenant}:runQuery", json={"structuredQuery": q},
                            headers={"Authorization": "Bearer owner"}, timeout=120)
            r.raise_for_status()
            rows = [x["document"] for x in r.json() if "document" in x]
            for d in rows:
                f = d.get("fields", {})
                eid = f.get("event_id", {}).get("stringValue") or d["name"].rsplit("/", 1)[-1]
                ts = f.get("projected_at", {}).get("timestampValue")
                if ts:
                    out[eid] = _lib.ts_epoch(ts)
            if len(rows) < page:
                return out
            last = rows[-1]["name"]


# ---- load generators -------------------------------------------------------------------------------------------

class Phase:
    def __init__(self, name: str):
        self.name = name
        self.sent: dict[str, float] = {}     # event_id → client send time (epoch)
        self.acked: dict[str, float] = {}    # event_id → answer time (epoch)
        self.failed = 0
        self.errors: dict[str, int] = {}
        self.attempted = 0
        self.stopped_early = ""
        self.lock = threading.Lock()
        self.drain = {}

    def ok(self, eid: str, sent: float, acked: float) -> None:
        with self.lock:
            self.sent[eid] = sent
            self.acked[eid] = acked

    def fail(self, why: str) -> None:
        with self.lock:
            self.failed += 1
            self.errors[why] = self.errors.get(why, 0) + 1


def run_load(phase: Phase, n: int, workers: int, deadline: float, send, pace: float = 0.0) -> None:
    """Call send(i) for i < n from `workers` threads; with pace > 0, call i starts at t0 + i/pace.
    Stops early (and records why) when the deadline passes."""
    counter = iter(range(n))
    lock = threading.Lock()
    t0 = time.monotonic() + 0.2

    def worker() -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            if time.monotonic() > deadline:
                phase.stopped_early = f"deadline reached after {i} of {n} events"
                return
            if pace:
                delay = t0 + i / pace - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            with phase.lock:
                phase.attempted += 1
            try:
                send(i)
            except Exception as exc:  # noqa: BLE001
                phase.fail(type(exc).__name__)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def ingest_sender(http: Http, e, token: str, phase: Phase):

    url = f"{e.functions_url}/{e.firebase_project}/us-central1/ingestEvent"

    def send(i: int) -> None:
        eid = str(uuid.uuid4())
        data = {"type": "page.view", "payload": {"path": f"/bench/{phase.name}/{i}", "i": i}, "event_id": eid}
        t = time.time()
        r = http.s.post(url, json={"data": data}, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        done = time.time()
        if r.status_code == 200 and r.json().get("result", {}).get("event_id") == eid:
            phase.ok(eid, t, done)
        else:
            phase.fail(f"HTTP {r.status_code}")

    return send


def outbox_sender(http: Http, e, token: str, phase: Phase):
    url = f"{e.backend_url}/api/tenants/{TENANT}/actions"

    def send(i: int) -> None:
        t = time.time()
        r = http.s.post(url, json={"aggregate_id": f"bench-{i % 97}", "kind": "bench.action", "payload": {"i": i}},
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)
        done = time.time()
        if r.status_code == 201:
            phase.ok(r.json()["event_id"], t, done)
        else:
            phase.fail(f"HTTP {r.status_code}")

    return send


def wait_drained(http: Http, phase: Phase, baseline: int, deadline: float, stall: float) -> None:
    """Poll the projection count until every accepted event of the phase is projected, progress stalls, or the
    deadline passes."""
    target = baseline + len(phase.acked)
    t0 = time.monotonic()
    last_n, last_change = -1, time.monotonic()
    while True:
        n = http.count()
        if n != last_n:
            last_n, last_change = n, time.monotonic()
        if n >= target:
            phase.drain = {"complete": True, "waited_s": round(time.monotonic() - t0, 1)}
            return
        if time.monotonic() > deadline or time.monotonic() - last_change > stall:
            why = "deadline" if time.monotonic() > deadline else f"no progress for {stall:.0f} s"
            phase.drain = {"complete": False, "waited_s": round(time.monotonic() - t0, 1),
                           "unprojected": target - n, "why": why}
            log(f"    {phase.name}: drain stopped ({why}); {target - n} accepted events not projected yet")
            return
        time.sleep(2)


class CpuSampler(threading.Thread):
    """docker stats CPU% of the project's containers every ~3 s (mean and max per service)."""

    def __init__(self, project: str):
        super().__init__(daemon=True)
        self.names = _lib.project_containers(project, all_states=False)
        self.samples: dict[str, list[float]] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                out = _lib.docker("stats", "--no-stream", "--format", "{{.Name}} {{.CPUPerc}}", *self.names)
            except Exception:  # noqa: BLE001
                continue
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] in self.names and parts[1].endswith("%"):
                    self.samples.setdefault(self.names[parts[0]], []).append(float(parts[1][:-1]))
            self.stop.wait(3)

    def summary(self) -> dict:
        return {svc: {"mean": round(sum(v) / len(v), 1), "max": round(max(v), 1)}
                for svc, v in sorted(self.samples.items()) if v}


# ---- direct limit ----------------------------------------------------------------------------------------------

def direct_limit(e, concurrency: int, seconds: float, max_events: int, batch: int = 0) -> dict:
    """The worker's Firestore pattern (deml.projections.apply_batch: one transaction per batch of up to `batch`
    events, default the worker's MAX_BATCH) from the host, `concurrency` threads, one shared client."""
    from deml import envelope, projections
    from deml.config import Config

    os.environ["FIRESTORE_EMULATOR_HOST"] = e.firestore_host
    db = projections.client(Config("telemetry-worker", {"FIREBASE_PROJECT": e.firebase_project}))
    batch = batch or projections.MAX_BATCH
    projections.apply_batch(db, [envelope.make(DIRECT_TENANT, "page.view", "frontend", {"warm": True})])  # warm-up
    durations: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    counter = iter(range(max_events))
    end = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < end:
            with lock:
                ids = [i for i in (next(counter, None) for _ in range(batch)) if i is not None]
            if not ids:
                return
            envs = [envelope.make(DIRECT_TENANT, "page.view", "frontend", {"path": f"/direct/{i}", "i": i}) for i in ids]
            t = time.perf_counter()
            try:
                projections.apply_batch(db, envs)
                d = time.perf_counter() - t
                with lock:
                    durations.extend([d / len(envs)] * len(envs))
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = [d * 1000 for d in durations]
    return {"concurrency": concurrency, "events": len(durations), "seconds": round(wall, 2),
            "events_per_s": round(len(durations) / wall, 1) if wall else 0.0,
            "txn_ms_mean": round(sum(ms) / len(ms), 2) if ms else None,
            "txn_ms_p50": round(pct(ms, 50), 2) if ms else None, "txn_ms_p99": round(pct(ms, 99), 2) if ms else None,
            "errors": errors}


def other_costs(e, n: int = 200) -> dict:
    """The worker's other per-event steps, timed from the host, sequentially: one-row ClickHouse insert into
    deml.events (tenant bench-direct) and Dragonfly EXISTS + SET."""
    import redis
    from deml import envelope
    from deml.clickhouse import ClickHouse, event_row
    from deml.config import Config

    ch = ClickHouse(Config("telemetry-worker", {"CLICKHOUSE_URL": e.clickhouse_url, "CLICKHOUSE_USER": e.clickhouse_user,
                                                "CLICKHOUSE_PASSWORD": e.clickhouse_password,
                                                "CLICKHOUSE_DATABASE": "deml"}))
    r = redis.Redis(host=e.redis_host, port=e.redis_port, socket_timeout=2)
    ch_ms, redis_ms = [], []
    for i in range(n):
        env = envelope.make(DIRECT_TENANT, "page.view", "frontend", {"i": i})
        t = time.perf_counter()
        ch.insert("events", [event_row(env)])
        ch_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        r.exists(f"processed:{env['event_id']}")
        r.set(f"processed:{env['event_id']}", 1, ex=60)
        redis_ms.append((time.perf_counter() - t) * 1000)
    return {"clickhouse_insert_ms_mean": round(sum(ch_ms) / n, 2), "clickhouse_insert_ms_p99": round(pct(ch_ms, 99), 2),
            "redis_exists_set_ms_mean": round(sum(redis_ms) / n, 2)}


# ---- analysis --------------------------------------------------------------------------------------------------

def analyse(phase: Phase, projected: dict[str, float]) -> dict:
    acc = phase.acked
    res: dict = {"attempted": phase.attempted, "accepted": len(acc), "failed": phase.failed, "errors": phase.errors,
                 "stopped_early": phase.stopped_early, "drain": phase.drain}
    if not acc:
        return res
    first_send, last_ack = min(phase.sent.values()), max(acc.values())
    res["load_seconds"] = round(last_ack - first_send, 2)
    res["accepted_per_s"] = round(len(acc) / max(1e-6, last_ack - first_send), 1)
    ack_ms = [(acc[k] - phase.sent[k]) * 1000 for k in acc]
    res["answer_ms"] = {"p50": round(pct(ack_ms, 50), 1), "p99": round(pct(ack_ms, 99), 1)}
    got = {k: projected[k] for k in acc if k in projected}
    res["projected"] = len(got)
    res["unprojected"] = len(acc) - len(got)
    if got:
        lat = [(got[k] - phase.sent[k]) * 1000 for k in got]
        res["latency_ms"] = {"p50": round(pct(lat, 50), 1), "p95": round(pct(lat, 95), 1),
                             "p99": round(pct(lat, 99), 1), "max": round(max(lat), 1), "min": round(min(lat), 1)}
        first_p, last_p = min(got.values()), max(got.values())
        res["projected_per_s_end_to_end"] = round(len(got) / max(1e-6, last_p - first_send), 1)
        res["projected_per_s_consumer"] = round(len(got) / max(1e-6, last_p - first_p), 1)
        res["projection_seconds"] = round(last_p - first_send, 2)
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=20000, help="events of the bulk phases (a)+(b) (20000)")
    ap.add_argument("--ingest-share", type=float, default=0.5, help="share of --events through ingestEvent (0.5); "
                    "the rest goes through the outbox")
    ap.add_argument("--max-seconds", type=float, default=900, help="bound of all load + drain phases (900); "
                    "the load stops early when reached and the report says so")
    ap.add_argument("--workers", type=int, default=16, help="concurrent client threads (16)")
    ap.add_argument("--pace", type=float, default=100, help="events/s of the paced ingestEvent run (100; 0 = skip)")
    ap.add_argument("--extra-pace", type=float, default=20, help="events/s of a second paced run, below the "
                    "single consumer's capacity (20; 0 = skip)")
    ap.add_argument("--pace-seconds", type=float, default=30, help="duration of the paced run (30)")
    ap.add_argument("--direct-seconds", type=float, default=20, help="time of each direct-limit run (20)")
    ap.add_argument("--direct-max", type=int, default=5000, help="max events of each direct-limit run (5000)")
    ap.add_argument("--stall-seconds", type=float, default=60, help="give up draining after no progress for (60)")
    ap.add_argument("--reuse-project", default="", help="use this running ephemeral project instead of a new one "
                    "(it is neither brought up nor torn down)")
    ap.add_argument("--port-offset", type=int, default=None, help="port offset of --reuse-project")
    args = ap.parse_args()
    if args.reuse_project and args.port_offset is None:
        ap.error("--reuse-project needs --port-offset")

    from harness.testing import clients

    env = _lib.ephemeral("benchpipe", args.reuse_project, args.port_offset)
    stack = env.stack
    res: dict = {"project": stack.project, "events_requested": args.events, "workers": args.workers,
                 "max_seconds": args.max_seconds}
    cpu = None
    try:
        if not args.reuse_project:
            log(f"bringing up ephemeral stack {stack.project} (port offset {stack.port_offset})")
            env.up()
            log(f"    up in {env.seconds['total']} s")
        else:
            log(f"reusing running project {stack.project} (port offset {stack.port_offset})")
            env.attach()
        e = env.endpoints
        http = Http(e)
        user = clients.sign_in(e.auth_host, e.firebase_project, TENANT)
        token = user.id_token

        # ---- the limit: Firestore transaction from the host, no broker ------------------------------------------
        log(f"direct limit: projections.apply_batch from the host, {args.workers} threads then 1 thread, "
            f"≤ {args.direct_seconds:.0f} s each")
        res["direct"] = direct_limit(e, args.workers, args.direct_seconds, args.direct_max)
        log(f"    c={args.workers}: {res['direct']}")
        res["direct_c1"] = direct_limit(e, 1, args.direct_seconds / 2, args.direct_max)
        log(f"    c=1: {res['direct_c1']}")
        res["worker_other_costs"] = other_costs(e)
        log(f"    other per-event costs: {res['worker_other_costs']}")

        start = time.monotonic()
        hard = start + args.max_seconds
        phases: list[Phase] = []
        cpu = CpuSampler(stack.project)
        cpu.start()

        # ---- warm-up (not measured): first callable invocations, producer connections, consumer caught up ---------
        warm = Phase("warmup")
        base = http.count()
        run_load(warm, 32, 4, hard, ingest_sender(http, e, token, warm))
        run_load(warm, 16, 4, hard, outbox_sender(http, e, token, warm))
        wait_drained(http, warm, base, min(hard, time.monotonic() + 60), args.stall_seconds)
        log(f"warm-up: {len(warm.acked)} events accepted and projected (not counted)")

        # ---- paced runs ----------------------------------------------------------------------------------------
        for rate, label in ((args.pace, "paced"), (args.extra_pace, "paced2")):
            if rate <= 0:
                continue
            n = int(rate * args.pace_seconds)
            ph = Phase(label)
            phases.append(ph)
            base = http.count()
            log(f"{label}: ingestEvent at {rate:.0f}/s for {args.pace_seconds:.0f} s ({n} events)")
            run_load(ph, n, args.workers, hard, ingest_sender(http, e, token, ph), pace=rate)
            log(f"    accepted {len(ph.acked)}, failed {ph.failed}; draining")
            wait_drained(http, ph, base, min(hard, time.monotonic() + 300), args.stall_seconds)

        # ---- bulk: (a) ingestEvent, (b) outbox --------------------------------------------------------------
        n_ingest = int(round(args.events * args.ingest_share))
        for name, n, make in (("ingest", n_ingest, ingest_sender), ("outbox", args.events - n_ingest, outbox_sender)):
            if n <= 0:
                continue
            ph = Phase(name)
            phases.append(ph)
            # each bulk phase gets its share of what is left of the budget (load + drain)
            left = hard - time.monotonic()
            share = left if name == "outbox" or args.ingest_share >= 1 else left * args.ingest_share
            phase_deadline = time.monotonic() + max(0.0, share)
            base = http.count()
            log(f"{name}: {n} events, {args.workers} concurrent clients, phase budget {share:.0f} s")
            run_load(ph, n, args.workers, phase_deadline, make(http, e, token, ph))
            if ph.stopped_early:
                log(f"    LOAD STOPPED EARLY: {ph.stopped_early}")
            log(f"    accepted {len(ph.acked)}, failed {ph.failed} {ph.errors or ''}; draining")
            wait_drained(http, ph, base, max(phase_deadline, time.monotonic() + 30), args.stall_seconds)
        cpu.stop.set()
        res["load_and_drain_seconds"] = round(time.monotonic() - start, 1)

        log("reading projections back (paged runQuery)")
        t = time.monotonic()
        projected = http.projections()
        res["readback_seconds"] = round(time.monotonic() - t, 1)
        res["phases"] = {ph.name: analyse(ph, projected) for ph in phases}
        try:
            rows = clients.clickhouse(e.clickhouse_url, e.clickhouse_user, e.clickhouse_password,
                                      f"SELECT count() AS n, uniqExact(event_id) AS u FROM deml.events "
                                      f"WHERE tenant_id = '{TENANT}'")
            res["clickhouse_acme_rows"] = {"rows": int(rows[0]["n"]), "distinct": int(rows[0]["u"])}
        except Exception as exc:  # noqa: BLE001
            res["clickhouse_acme_rows"] = f"query failed: {exc}"
        res["firestore_acme_events"] = len(projected)
        res["cpu_percent"] = cpu.summary()
    finally:
        if cpu is not None:
            cpu.stop.set()
        if not args.reuse_project:
            _lib.teardown(env, log)

    report(res, args)
    return 0


def report(res: dict, args) -> None:
    d, d1, oc = res["direct"], res["direct_c1"], res["worker_other_costs"]
    print()
    print(f"pipeline benchmark — project {res['project']}, bulk N={args.events} requested "
          f"({args.ingest_share:.0%} ingestEvent / rest outbox), {args.workers} client threads, "
          f"budget {args.max_seconds:.0f} s, 2-core shared host")
    print(f"  {'phase':<8} {'sent':>6} {'acc':>6} {'fail':>5} {'acc/s':>7} {'proj':>6} {'proj/s e2e':>10} "
          f"{'proj/s cons':>11} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for name, p in res["phases"].items():
        lat = p.get("latency_ms", {})
        print(f"  {name:<8} {p['attempted']:>6} {p['accepted']:>6} {p['failed']:>5} {p.get('accepted_per_s', 0):>7} "
              f"{p.get('projected', 0):>6} {p.get('projected_per_s_end_to_end', 0):>10} "
              f"{p.get('projected_per_s_consumer', 0):>11} {lat.get('p50', '-'):>8} {lat.get('p95', '-'):>8} "
              f"{lat.get('p99', '-'):>8} {lat.get('max', '-'):>8}")
        notes = []
        if p.get("stopped_early"):
            notes.append(f"LOAD STOPPED EARLY ({p['stopped_early']})")
        if p.get("drain") and not p["drain"].get("complete"):
            notes.append(f"drain incomplete: {p['drain']}")
        if p.get("errors"):
            notes.append(f"errors {p['errors']}")
        if p.get("unprojected"):
            notes.append(f"{p['unprojected']} accepted but not projected when read back")
        if notes:
            print(f"           {'; '.join(notes)}")
    print(f"  direct limit (projections.apply_batch from host, same emulator): c={d['concurrency']} {d['events_per_s']} ev/s "
          f"(txn mean {d['txn_ms_mean']} ms, p99 {d['txn_ms_p99']} ms, errors {d['errors'] or 0}); "
          f"c=1 {d1['events_per_s']} ev/s (txn mean {d1['txn_ms_mean']} ms)")
    print(f"  worker's other per-event costs from host: ClickHouse 1-row insert {oc['clickhouse_insert_ms_mean']} ms "
          f"(p99 {oc['clickhouse_insert_ms_p99']}), Dragonfly EXISTS+SET {oc['redis_exists_set_ms_mean']} ms")
    bulk = [p for n, p in res["phases"].items() if n in ("ingest", "outbox") and p.get("projected")]
    if bulk:
        total = sum(p["projected"] for p in bulk)
        secs = sum(p["projection_seconds"] for p in bulk)
        pipe = total / secs if secs else 0.0
        res["pipeline_projected_per_s"] = round(pipe, 1)
        res["ratio_pipeline_over_direct"] = round(pipe / d["events_per_s"], 3) if d["events_per_s"] else None
        res["ratio_pipeline_over_direct_c1"] = round(pipe / d1["events_per_s"], 3) if d1["events_per_s"] else None
        print(f"  pipeline projected throughput (bulk, end to end) {pipe:.1f} ev/s → ratio pipeline/direct(c="
              f"{d['concurrency']}) = {res['ratio_pipeline_over_direct']} (goal >= 0.5: "
              f"{'met' if (res['ratio_pipeline_over_direct'] or 0) >= 0.5 else 'NOT met'}); "
              f"vs direct c=1: {res['ratio_pipeline_over_direct_c1']}")
    for label, rate in (("paced", args.pace), ("paced2", args.extra_pace)):
        paced = res["phases"].get(label)
        if paced and paced.get("latency_ms"):
            p99 = paced["latency_ms"]["p99"]
            print(f"  {label} {rate:.0f}/s for {args.pace_seconds:.0f} s: p50 {paced['latency_ms']['p50']} ms, "
                  f"p99 {p99} ms (goal <= 1000 ms at 100/s: {'met' if p99 <= 1000 else 'NOT met'})")
    print(f"  Firestore acme events {res.get('firestore_acme_events')}, ClickHouse acme rows "
          f"{res.get('clickhouse_acme_rows')}; CPU% during load {res.get('cpu_percent')}")
    _lib.dump_json("RESULT", res)


if __name__ == "__main__":
    sys.exit(main())
