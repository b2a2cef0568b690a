"""Cloud Functions for Firebase (Python), served by the deml/firebase emulator image.

ingestEvent — HTTPS callable (POST /<project>/us-central1/ingestEvent, body {"data": {...}}):
  * the caller must be signed in (Firebase Auth ID token): otherwise UNAUTHENTICATED (HTTP 401);
  * the tenant is the token's custom claim `tenant_id` (none, or a different tenant in the data:
    PERMISSION_DENIED, HTTP 403);
  * the data is completed into an envelope (event_id, occurred_at if absent; source "frontend") and validated
    against the shared envelope schema (app/deml/envelope.schema.json): INVALID_ARGUMENT naming the field;
  * it is produced to `frontend-events`, keyed by tenant, by an idempotent producer (acks=all, SASL/SCRAM), and
    the answer {event_id, partition, offset} is sent only after the broker acknowledged it.
Configuration comes from the environment contract: REDPANDA_BROKERS, REDPANDA_SASL_USERNAME,
REDPANDA_SASL_PASSWORD (or REDPANDA_SASL_PASSWORD_FILE), REDPANDA_SASL_MECHANISM.
"""

import json
import os
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jsonschema
from confluent_kafka import Producer
from firebase_admin import initialize_app
from firebase_functions import https_fn

# The callable SDK checks ID tokens with firebase_admin's default app; against the Auth emulator
# (FIREBASE_AUTH_EMULATOR_HOST, set by firebase-tools) that check is offline.
initialize_app()

TENANT_CLAIM = "tenant_id"
TOPIC = "frontend-events"
MAX_PAYLOAD_BYTES = 16 * 1024
SCHEMA = json.loads((Path(__file__).parent / "envelope.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
Err = https_fn.FunctionsErrorCode

_producer: Producer | None = None
_lock = threading.Lock()


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value and os.environ.get(f"{name}_FILE"):
        value = Path(os.environ[f"{name}_FILE"]).read_text().strip()
    if not value:
        raise https_fn.HttpsError(Err.FAILED_PRECONDITION, f"ingestEvent is not configured: {name} is missing")
    return value


def producer() -> Producer:
    global _producer
    with _lock:
        if _producer is None:
            _producer = Producer({
                "bootstrap.servers": _env("REDPANDA_BROKERS"), "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanism": _env("REDPANDA_SASL_MECHANISM"), "sasl.username": _env("REDPANDA_SASL_USERNAME"),
                "sasl.password": _env("REDPANDA_SASL_PASSWORD"), "enable.idempotence": True, "acks": "all",
                "linger.ms": 2, "client.id": "ingestEvent"})
        return _producer


def caller_tenant(req: https_fn.CallableRequest) -> str:
    if req.auth is None:
        raise https_fn.HttpsError(Err.UNAUTHENTICATED, "ingestEvent requires a signed-in caller")
    tenant = req.auth.token.get(TENANT_CLAIM)
    if not tenant:
        raise https_fn.HttpsError(Err.PERMISSION_DENIED, f"the ID token has no `{TENANT_CLAIM}` claim")
    return tenant


def envelope_of(data: Any, tenant: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise https_fn.HttpsError(Err.INVALID_ARGUMENT, "data must be an object", {"field": "(envelope)"})
    if data.get("tenant_id", tenant) != tenant:
        raise https_fn.HttpsError(Err.PERMISSION_DENIED, f"the caller belongs to tenant {tenant}",
                                  {"field": "tenant_id"})
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    env = {"event_id": str(uuid.uuid4()), "occurred_at": now, "schema_version": 1, **data,
           "tenant_id": tenant, "source": "frontend"}
    errors = sorted(VALIDATOR.iter_errors(env), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        if e.validator == "required":
            field = [k for k in e.validator_value if k not in e.instance][0]
            message = f"{field} is required"
        elif e.validator == "additionalProperties":
            field = sorted(set(e.instance) - set(e.schema["properties"]))[0]
            message = f"{field} is not an envelope field"
        else:
            field = ".".join(str(p) for p in e.absolute_path) or "(envelope)"
            message = f"{field}: {e.message}"
        raise https_fn.HttpsError(Err.INVALID_ARGUMENT, message, {"field": field})
    # patterns are searched with `$`, which also matches before a final newline; date-time is not checked by
    # the schema alone: both are checked here, as in the app (app/deml/envelope.py)
    for field in ("event_id", "tenant_id", "type", "occurred_at"):
        if "\n" in env[field]:
            raise https_fn.HttpsError(Err.INVALID_ARGUMENT, f"{field} contains a line break", {"field": field})
    try:
        datetime.fromisoformat(env["occurred_at"].replace("Z", "+00:00"))
    except ValueError:
        raise https_fn.HttpsError(Err.INVALID_ARGUMENT, "occurred_at is not a real date and time",
                                  {"field": "occurred_at"}) from None
    size = len(json.dumps(env["payload"], separators=(",", ":")).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise https_fn.HttpsError(Err.INVALID_ARGUMENT, f"payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES}",
                                  {"field": "payload"})
    return env


def produce(env: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    p = producer()
    p.produce(TOPIC, key=env["tenant_id"].encode(), on_delivery=lambda err, msg: result.update(err=err, msg=msg),
              value=json.dumps(env, separators=(",", ":"), sort_keys=True).encode())
    left = p.flush(20)
    if left or "err" not in result:
        raise https_fn.HttpsError(Err.UNAVAILABLE, "the broker did not acknowledge the event in time; retry with "
                                  "the same event_id")
    if result["err"] is not None:
        raise https_fn.HttpsError(Err.UNAVAILABLE, f"the broker refused the event: {result['err']}")
    return {"event_id": env["event_id"], "partition": result["msg"].partition(), "offset": result["msg"].offset()}


@https_fn.on_call()
def ingestEvent(req: https_fn.CallableRequest) -> dict[str, Any]:  # noqa: N802 (callable name)
    tenant = caller_tenant(req)
    return produce(envelope_of(req.data, tenant))
