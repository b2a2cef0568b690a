"""The event envelope: build, validate, encode. One schema (envelope.schema.json) for app, function, contracts."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources

import jsonschema

MAX_PAYLOAD_BYTES = 16 * 1024


class InvalidEnvelope(ValueError):
    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(resources.files("deml").joinpath("envelope.schema.json").read_text())


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make(tenant_id: str, type_: str, source: str, payload: dict, event_id: str | None = None,
         occurred_at: str | None = None) -> dict:
    return {"event_id": event_id or str(uuid.uuid4()), "tenant_id": tenant_id, "type": type_,
            "occurred_at": occurred_at or now_iso(), "source": source, "schema_version": 1, "payload": payload}


def validate(envelope) -> dict:
    """Return the envelope or raise InvalidEnvelope naming the first offending field."""
    if not isinstance(envelope, dict):
        raise InvalidEnvelope("(envelope)", "must be a JSON object")
    errors = sorted(_validator().iter_errors(envelope), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        if e.validator == "required":
            missing = [k for k in e.validator_value if k not in e.instance][0]
            raise InvalidEnvelope(missing, "is required")
        if e.validator == "additionalProperties":
            extra = sorted(set(e.instance) - set(e.schema["properties"]))[0]
            raise InvalidEnvelope(extra, "is not an envelope field")
        field = ".".join(str(p) for p in e.absolute_path) or "(envelope)"
        raise InvalidEnvelope(field, e.message)
    # JSON Schema patterns are searched with `$`, which also matches before a final newline: reject it here
    for field in ("event_id", "tenant_id", "type", "occurred_at"):
        if "\n" in envelope[field]:
            raise InvalidEnvelope(field, "contains a line break")
    try:  # `format: date-time` is an annotation only unless checked: a real calendar date and time is required
        datetime.fromisoformat(envelope["occurred_at"].replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEnvelope("occurred_at", f"{envelope['occurred_at']!r} is not a real date and time") from None
    size = len(json.dumps(envelope["payload"], separators=(",", ":")).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise InvalidEnvelope("payload", f"is {size} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    return envelope


def encode(envelope: dict) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), sort_keys=True).encode()


def decode(data: bytes) -> dict:
    return validate(json.loads(data))


def tick_id(tenant_id: str, bucket: int) -> str:
    """Deterministic event id of a cron tick: re-publishing the same tick yields the same id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"deml:tick:{tenant_id}:{bucket}"))
