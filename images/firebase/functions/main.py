"""Cloud Functions for Firebase (Python), served by the deml/firebase emulator image.

ingestEvent -- HTTPS callable (POST /<project>/us-central1/ingestEvent, body {"data": {...}}).
  * the caller must be signed in (Firebase Auth ID token in "Authorization: Bearer ...");
    otherwise the answer is HTTP 401 {"error": {"status": "UNAUTHENTICATED", ...}};
  * the caller's tenant is the custom claim ``tenant_id``;
  * ``handle_event`` is a placeholder: replace its body with the Kafka producer.
"""

from typing import Any

from firebase_admin import initialize_app
from firebase_functions import https_fn

# The callable SDK checks ID tokens with firebase_admin's default app. Against the Auth
# emulator (FIREBASE_AUTH_EMULATOR_HOST, set by firebase-tools) that check is offline.
initialize_app()

TENANT_CLAIM = "tenant_id"


def caller_tenant(req: https_fn.CallableRequest) -> str | None:
    """The caller's tenant id; raises UNAUTHENTICATED when nobody is signed in."""
    if req.auth is None:
        raise https_fn.HttpsError(
            code=https_fn.FunctionsErrorCode.UNAUTHENTICATED,
            message="ingestEvent requires a signed-in caller",
        )
    return req.auth.token.get(TENANT_CLAIM)


def handle_event(event: dict[str, Any], tenant: str | None) -> dict[str, Any]:
    """Placeholder for the Kafka producer: acknowledge the event."""
    return {"event_id": event.get("event_id"), "tenant": tenant}


@https_fn.on_call()
def ingestEvent(req: https_fn.CallableRequest) -> dict[str, Any]:  # noqa: N802 (callable name)
    tenant = caller_tenant(req)
    event = req.data if isinstance(req.data, dict) else {}
    return handle_event(event, tenant)
