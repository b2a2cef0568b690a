"""Firestore projections. One transaction per batch of events: for each event whose processed marker is absent,
the projection and the marker; per tenant, the summed counters — so redelivery (relay crash, worker crash
before the offset commit, broker restart) never double-counts. Dragonfly may remember processed ids as a fast
path; it is never the source of truth.
"""
from __future__ import annotations

from collections import Counter, defaultdict

from google.auth.credentials import AnonymousCredentials
from google.cloud import firestore

from deml.config import Config


def client(cfg: Config) -> firestore.Client:
    # FIRESTORE_EMULATOR_HOST in the environment points the client at the emulator.
    return firestore.Client(project=cfg["FIREBASE_PROJECT"], credentials=AnonymousCredentials())


def paths(envelope: dict) -> dict[str, str]:
    t, e = envelope["tenant_id"], envelope["event_id"]
    return {"marker": f"tenants/{t}/processed/{e}", "event": f"tenants/{t}/events/{e}",
            "stats": f"tenants/{t}/stats/counters", "health": f"tenants/{t}/health/cron"}


def projection(envelope: dict) -> dict:
    return {"event_id": envelope["event_id"], "tenant_id": envelope["tenant_id"], "type": envelope["type"],
            "source": envelope["source"], "occurred_at": envelope["occurred_at"], "payload": envelope["payload"],
            "projected_at": firestore.SERVER_TIMESTAMP}


MAX_BATCH = 200  # a transaction holds at most 500 writes: 2 per event + 2 per tenant


def _counter_update(envs: list[dict]) -> dict:
    by_type = Counter(e["type"].replace(".", "_") for e in envs)
    by_source = Counter(e["source"] for e in envs)
    return {"events_total": firestore.Increment(len(envs)),
            "by_type": {k: firestore.Increment(v) for k, v in by_type.items()},
            "by_source": {k: firestore.Increment(v) for k, v in by_source.items()}}


def apply_batch(db: firestore.Client, envelopes: list[dict], check_markers: bool = True,
                uncounted: frozenset[str] = frozenset()) -> list[bool]:
    """Apply a batch exactly once, in one transaction; return, per envelope, whether it was new.
    check_markers=False and uncounted (tenants whose counters are not updated) are BROKEN variants the contract
    suite must catch (double counts on redelivery; a tenant special-cased)."""
    if len(envelopes) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} events per transaction")
    refs = [db.document(paths(e)["marker"]) for e in envelopes]

    @firestore.transactional
    def run(tx: firestore.Transaction) -> list[bool]:
        done = {snap.reference.path for snap in tx.get_all(refs) if snap.exists} if check_markers else set()
        new: list[bool] = []
        fresh: dict[str, list[dict]] = defaultdict(list)
        for env, ref in zip(envelopes, refs):
            if ref.path in done:
                new.append(False)
                continue
            done.add(ref.path)  # a repeat inside the batch is a duplicate too
            new.append(True)
            fresh[env["tenant_id"]].append(env)
            if env["type"] != "tenant.tick":
                tx.set(db.document(paths(env)["event"]), projection(env))
            if check_markers:
                tx.set(ref, {"event_id": env["event_id"], "at": firestore.SERVER_TIMESTAMP})
        for tenant, envs in fresh.items():
            if tenant in uncounted:
                continue
            tx.set(db.document(f"tenants/{tenant}/stats/counters"), _counter_update(envs), merge=True)
            ticks = [e for e in envs if e["type"] == "tenant.tick"]
            if ticks:
                last = max(ticks, key=lambda e: e["occurred_at"])
                tx.set(db.document(paths(last)["health"]), {
                    "tenant_id": tenant, "last_tick_at": last["occurred_at"], "last_tick_id": last["event_id"],
                    "ticks": firestore.Increment(len(ticks))}, merge=True)
        return new

    return run(db.transaction(max_attempts=10))
