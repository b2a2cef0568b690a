"""Firestore projections. One transaction per event: projection + counters + processed marker, written only if
the marker is absent — so redelivery (relay crash, worker crash before the offset commit, broker restart)
never double-counts. Dragonfly may remember processed ids as a fast path; it is never the source of truth.
"""
from __future__ import annotations

from google.api_core.client_options import ClientOptions  # noqa: F401 — imported for its side effect on grpc
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


def apply(db: firestore.Client, envelope: dict) -> bool:
    """Apply one event exactly once. Return True if it was new, False if it had been processed already."""
    p = paths(envelope)
    marker, event_doc = db.document(p["marker"]), db.document(p["event"])
    stats, health = db.document(p["stats"]), db.document(p["health"])
    is_tick = envelope["type"] == "tenant.tick"

    @firestore.transactional
    def run(tx: firestore.Transaction) -> bool:
        if marker.get(transaction=tx).exists:
            return False
        if is_tick:
            tx.set(health, {"tenant_id": envelope["tenant_id"], "last_tick_at": envelope["occurred_at"],
                            "last_tick_id": envelope["event_id"], "ticks": firestore.Increment(1)}, merge=True)
        else:
            tx.set(event_doc, projection(envelope))
        tx.set(stats, {"events_total": firestore.Increment(1),
                       "by_type": {envelope["type"].replace(".", "_"): firestore.Increment(1)},
                       "by_source": {envelope["source"]: firestore.Increment(1)}}, merge=True)
        tx.set(marker, {"event_id": envelope["event_id"], "at": firestore.SERVER_TIMESTAMP})
        return True

    return run(db.transaction(max_attempts=10))
