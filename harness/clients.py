"""Small clients a test or contract needs to act like a user: Firebase sign-in with a tenant claim, the callable
protocol, Firestore REST reads, ClickHouse queries. Plain HTTP against the emulators and services."""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import requests


@dataclass(frozen=True)
class FirebaseUser:
    uid: str
    email: str
    tenant: str
    id_token: str


def sign_in(auth_host: str, project: str, tenant: str) -> FirebaseUser:
    """Create a user in the Auth emulator, give it the custom claim tenant_id, and sign in again for a token
    that carries the claim."""
    base = f"http://{auth_host}/identitytoolkit.googleapis.com/v1"
    email, password = f"{uuid.uuid4().hex[:10]}@{tenant}.test", uuid.uuid4().hex
    r = requests.post(f"{base}/accounts:signUp?key=topo", json={"email": email, "password": password,
                                                                "returnSecureToken": True}, timeout=10)
    r.raise_for_status()
    uid = r.json()["localId"]
    requests.post(f"{base}/projects/{project}/accounts:update", headers={"Authorization": "Bearer owner"},
                  json={"localId": uid, "customAttributes": json.dumps({"tenant_id": tenant})}, timeout=10).raise_for_status()
    r = requests.post(f"{base}/accounts:signInWithPassword?key=topo",
                      json={"email": email, "password": password, "returnSecureToken": True}, timeout=10)
    r.raise_for_status()
    return FirebaseUser(uid, email, tenant, r.json()["idToken"])


def call(functions_url: str, project: str, name: str, data, id_token: str | None = None,
         region: str = "us-central1") -> requests.Response:
    """The callable protocol: POST {"data": ...} → {"result": ...} or {"error": {"status": ...}}."""
    headers = {"Authorization": f"Bearer {id_token}"} if id_token else {}
    return requests.post(f"{functions_url}/{project}/{region}/{name}", json={"data": data}, headers=headers, timeout=30)


def firestore_doc(firestore_host: str, project: str, path: str) -> dict | None:
    r = requests.get(f"http://{firestore_host}/v1/projects/{project}/databases/(default)/documents/{path}",
                     headers={"Authorization": "Bearer owner"}, timeout=10)
    if r.status_code == 404:
        return None
    r.raise_for_status()
    return r.json()


def firestore_count(firestore_host: str, project: str, parent: str, collection: str) -> int:
    """Documents in a collection (runQuery with a count aggregation)."""
    url = f"http://{firestore_host}/v1/projects/{project}/databases/(default)/documents"
    if parent:
        url += f"/{parent}"
    body = {"structuredAggregationQuery": {"structuredQuery": {"from": [{"collectionId": collection}]},
                                           "aggregations": [{"alias": "n", "count": {}}]}}
    r = requests.post(f"{url}:runAggregationQuery", json=body, headers={"Authorization": "Bearer owner"}, timeout=30)
    r.raise_for_status()
    return int(r.json()[0]["result"]["aggregateFields"]["n"]["integerValue"])


def clickhouse(url: str, user: str, password: str, sql: str) -> list[dict]:
    r = requests.post(url, data=sql.rstrip().rstrip(";") + " FORMAT JSONEachRow", auth=(user, password), timeout=30)
    if r.status_code != 200:
        raise RuntimeError(f"ClickHouse {r.status_code}: {r.text[:300]}")
    return [json.loads(line) for line in r.text.splitlines() if line.strip()]


def eventually(check, timeout: float = 20.0, interval: float = 0.2):
    """Poll check() until it returns a truthy value or the deadline passes; return the last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    return value
