"""backend: the HTTP API. POST /api/tenants/{tenant}/actions writes the domain row and its outbox row in ONE
Postgres transaction (the relay publishes the outbox later). An unknown tenant violates the foreign key after
the outbox row was written, so the whole transaction — outbox row included — rolls back."""
from __future__ import annotations

import json
import logging
import re
import uuid

import psycopg
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from deml import auth, envelope, faults
from deml.config import Config
from deml.process import Lifecycle, health_routes, serve

log = logging.getLogger("deml.backend")
ACTION = re.compile(r"^/api/tenants/(?P<tenant>[a-z0-9][a-z0-9_-]{0,62})/actions/?$")


def pool(cfg: Config) -> ConnectionPool:
    return ConnectionPool(cfg["DATABASE_URL"], kwargs={"password": cfg["DATABASE_PASSWORD"], "connect_timeout": 5},
                          min_size=1, max_size=8, open=True)


def record_action(conn: psycopg.Connection, tenant: str, aggregate_id: str, kind: str, payload: dict) -> dict:
    """Write the outbox row, then the domain row, in one transaction; return ids. Raises on unknown tenant."""
    action_id = str(uuid.uuid4())
    env = envelope.make(tenant, "action.created", "outbox",
                        {"action_id": action_id, "aggregate_id": aggregate_id, "kind": kind, "data": payload})
    envelope.validate(env)
    if faults.active("backend_outbox_apart"):  # BROKEN variant: the outbox row commits on its own
        with conn.transaction():
            _insert_outbox(conn, env, tenant, aggregate_id)
    with conn.transaction():
        if not faults.active("backend_outbox_apart"):
            _insert_outbox(conn, env, tenant, aggregate_id)
        conn.execute("INSERT INTO actions (id, tenant_id, aggregate_id, kind, payload) VALUES (%s, %s, %s, %s, %s)",
                     (action_id, tenant, aggregate_id, kind, Jsonb(payload)))
    return {"action_id": action_id, "event_id": env["event_id"], "tenant_id": tenant}


def _insert_outbox(conn: psycopg.Connection, env: dict, tenant: str, aggregate_id: str) -> None:
    conn.execute("INSERT INTO outbox (event_id, tenant_id, aggregate_id, type, payload, occurred_at) "
                 "VALUES (%s, %s, %s, %s, %s, %s)",
                 (env["event_id"], tenant, aggregate_id, env["type"], Jsonb(env["payload"]), env["occurred_at"]))


def run(cfg: Config, life: Lifecycle, port: int) -> None:
    db = pool(cfg)
    project = cfg["FIREBASE_PROJECT"]

    def api(method: str, path: str, handler):
        m = ACTION.match(path.split("?")[0])
        if not (method == "POST" and m):
            return None
        token = (handler.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        try:
            claimed = auth.tenant_of(token, project)
        except PermissionError as exc:
            return 401, {"error": "UNAUTHENTICATED", "message": str(exc)}, "application/json"
        tenant = m["tenant"]
        if claimed != tenant:
            return 403, {"error": "PERMISSION_DENIED", "message": f"token is for tenant {claimed}"}, "application/json"
        try:
            body = handler.body_json()
        except json.JSONDecodeError:
            return 400, {"error": "INVALID_ARGUMENT", "message": "body is not JSON"}, "application/json"
        aggregate_id, kind, payload = body.get("aggregate_id"), body.get("kind"), body.get("payload", {})
        if not isinstance(aggregate_id, str) or not aggregate_id or not isinstance(kind, str) or not kind \
                or not isinstance(payload, dict):
            return 400, {"error": "INVALID_ARGUMENT",
                         "message": "give aggregate_id (string), kind (string), payload (object)"}, "application/json"
        with db.connection() as conn:
            try:
                result = record_action(conn, tenant, aggregate_id, kind, payload)
            except psycopg.errors.ForeignKeyViolation:
                return 404, {"error": "NOT_FOUND", "message": f"unknown tenant {tenant}; nothing was written"}, \
                    "application/json"
            except envelope.InvalidEnvelope as exc:
                return 400, {"error": "INVALID_ARGUMENT", "message": str(exc)}, "application/json"
        life.count("actions")
        return 201, result, "application/json"

    server = serve(port, health_routes(life, api), life)
    log.info("backend listening on :%d", port)
    while not life.stop.is_set():
        try:
            with db.connection() as conn:
                conn.execute("SELECT 1")
            life.beat("postgres")
        except Exception as exc:  # noqa: BLE001
            life.failed("postgres", exc)
        life.stop.wait(5)
    server.shutdown()  # finishes the request in flight
    db.close()
    log.info("backend stopped")
