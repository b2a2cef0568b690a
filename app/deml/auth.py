"""Firebase ID tokens: verified with firebase-admin (against the Auth emulator when FIREBASE_AUTH_EMULATOR_HOST
is set — the emulator's tokens are unsigned and firebase-admin accepts them only in that mode)."""
from __future__ import annotations

import threading
from functools import lru_cache

import firebase_admin
from firebase_admin import auth, credentials
from google.auth.credentials import AnonymousCredentials


class _Anonymous(credentials.Base):
    def get_credential(self):
        return AnonymousCredentials()


_init = threading.Lock()


@lru_cache(maxsize=1)
def app(project: str) -> firebase_admin.App:
    """One firebase-admin app per project. The HTTP server answers on many threads, and lru_cache does not stop two
    first calls from both initialising: the second initialize_app raised ValueError ("app named ... already
    exists"), which answered the first concurrent requests 401 "invalid ID token: ValueError"."""
    name = f"deml-{project}"
    with _init:
        try:
            return firebase_admin.get_app(name)
        except ValueError:  # not initialised yet
            return firebase_admin.initialize_app(_Anonymous(), {"projectId": project}, name=name)


def tenant_of(id_token: str, project: str) -> str:
    """Return the token's tenant_id claim; raise PermissionError when the token is missing, bad or has none."""
    if not id_token:
        raise PermissionError("missing ID token")
    try:
        claims = auth.verify_id_token(id_token, app=app(project))
    except Exception as exc:  # noqa: BLE001 — any verification failure is an authentication failure
        raise PermissionError(f"invalid ID token: {type(exc).__name__}") from None
    tenant = claims.get("tenant_id")
    if not tenant:
        raise PermissionError("the ID token has no tenant_id claim")
    return tenant
