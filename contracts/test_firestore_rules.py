"""Firestore security rules: a client reads only its own tenant and never writes; the server still projects."""
from __future__ import annotations

import uuid

import pytest
import requests

from harness.testing import clients

pytestmark = pytest.mark.services("firebase", "telemetry-worker")

DENIED = (403, "PERMISSION_DENIED")
PROBE_FIELD = "topo_contract_probe"  # the only field a (wrongly) allowed contract write could touch


def rest(firestore_host: str, project: str, method: str, path: str, id_token: str | None = None,
         fields: dict | None = None) -> requests.Response:
    """One Firestore REST call as a client: with an end user's ID token, or with no credential at all.
    Writes are PATCHes whose update mask names PROBE_FIELD only, so a write the rules wrongly allow changes
    nothing else (counters keep their values)."""
    url = f"http://{firestore_host}/v1/projects/{project}/databases/(default)/documents/{path}"
    headers = {"Authorization": f"Bearer {id_token}"} if id_token else {}
    if method == "PATCH":
        url += f"?updateMask.fieldPaths={PROBE_FIELD}"
        fields = fields if fields is not None else {PROBE_FIELD: {"stringValue": "written by a client"}}
    return requests.request(method, url, headers=headers, json={"fields": fields} if fields is not None else None,
                            timeout=10)


def seen(r: requests.Response) -> tuple[int, str]:
    """(HTTP status, the error's status string, "" when the answer is not an error)."""
    try:
        error = r.json().get("error", {}) if r.content else {}
    except ValueError:
        error = {}
    return r.status_code, error.get("status", "") if isinstance(error, dict) else ""


def expect_denied(r: requests.Response, what: str) -> None:
    code, status = seen(r)
    assert (code, status) == DENIED, (f"{what}: expected HTTP 403 PERMISSION_DENIED, "
                                      f"saw HTTP {code} {status or r.text[:200]}")


def _undo(firestore_host: str, project: str, path: str, created: bool) -> None:
    """Take back a client write the rules should have refused (as the server, which bypasses the rules)."""
    url = f"http://{firestore_host}/v1/projects/{project}/databases/(default)/documents/{path}"
    owner = {"Authorization": "Bearer owner"}
    if created:
        requests.delete(url, headers=owner, timeout=10)
    else:  # an update mask naming a field absent from the body removes that field
        requests.patch(f"{url}?updateMask.fieldPaths={PROBE_FIELD}", json={"fields": {}}, headers=owner, timeout=10)


def check_clients_confined(firestore_host: str, project: str, own_token: str, other_token: str,
                           tenant: str = "acme") -> dict[str, tuple[int, str]]:
    """Every client-side promise of the rules at once, over REST; return what each request saw.

    Raises AssertionError naming each broken promise. Also run against an emulator loaded with a deliberately
    broken (allow-all) variant of the rules in tests/test_firestore_rules.py, to show that it can fail."""
    marker = uuid.uuid4().hex[:12]
    writes = {  # path → whether a wrongly allowed write would have created the document
        f"tenants/{tenant}/stats/counters": False,
        f"tenants/{tenant}/events/contract-{marker}": True,
        f"tenants/{tenant}/processed/contract-{marker}": True,
    }

    def get(path: str, token: str | None = None):
        return lambda: rest(firestore_host, project, "GET", path, token)

    def patch(path: str, token: str | None = None):
        return lambda: rest(firestore_host, project, "PATCH", path, token)

    counters = f"tenants/{tenant}/stats/counters"
    denied = [  # (promise, request, path a wrongly allowed write touched)
        (f"unauthenticated read of tenants/{tenant}", get(f"tenants/{tenant}"), None),
        (f"unauthenticated read of {counters}", get(counters), None),
        (f"unauthenticated write of {counters}", patch(counters), counters),
        (f"another tenant's token reading tenants/{tenant}", get(f"tenants/{tenant}", other_token), None),
        (f"another tenant's token reading {counters}", get(counters, other_token), None),
        *[(f"{tenant}'s own token writing {path}", patch(path, own_token), path) for path in writes],
        (f"{tenant}'s token reading an unknown path", get(f"topo-contract/{marker}", own_token), None),
    ]
    got: dict[str, tuple[int, str]] = {}
    broken: list[str] = []
    for what, send, touched in denied:
        r = send()
        got[what] = seen(r)
        if got[what] != DENIED:
            broken.append(f"{what} answered HTTP {got[what][0]} {got[what][1] or 'OK'} (expected 403 PERMISSION_DENIED)")
        if touched and r.status_code == 200:
            _undo(firestore_host, project, touched, writes[touched])
    own = rest(firestore_host, project, "GET", f"tenants/{tenant}", own_token)
    got[f"{tenant}'s own token reading tenants/{tenant}"] = seen(own)
    if own.status_code != 200:
        broken.append(f"{tenant}'s own token reading tenants/{tenant} answered HTTP {own.status_code} "
                      f"{seen(own)[1]} (expected 200)")
    assert not broken, "clients are not confined by the Firestore rules: " + "; ".join(broken)
    return got


@pytest.fixture(scope="module")
def globex(endpoints):
    """A signed-in user of tenant globex."""
    return clients.sign_in(endpoints.auth_host, endpoints.firebase_project, "globex")


def test_an_unauthenticated_client_cannot_read_a_tenant(endpoints):
    """A request without an ID token cannot read tenants/acme or its counters: HTTP 403 PERMISSION_DENIED."""
    for path in ("tenants/acme", "tenants/acme/stats/counters"):
        expect_denied(rest(endpoints.firestore_host, endpoints.firebase_project, "GET", path),
                      f"unauthenticated GET {path}")


def test_an_unauthenticated_client_cannot_write(endpoints):
    """A request without an ID token cannot write tenants/acme/stats/counters: HTTP 403 PERMISSION_DENIED."""
    path = "tenants/acme/stats/counters"
    expect_denied(rest(endpoints.firestore_host, endpoints.firebase_project, "PATCH", path),
                  f"unauthenticated PATCH {path}")
    counters = clients.firestore_doc(endpoints.firestore_host, endpoints.firebase_project, path) or {}
    assert PROBE_FIELD not in counters.get("fields", {}), "the denied write changed the counters"


def test_another_tenants_token_cannot_read_acme(endpoints, globex):
    """A globex user cannot read tenants/acme: HTTP 403 PERMISSION_DENIED."""
    expect_denied(rest(endpoints.firestore_host, endpoints.firebase_project, "GET", "tenants/acme", globex.id_token),
                  "globex's token GET tenants/acme")


def test_a_tenant_reads_its_own_tenant_document(endpoints, acme):
    """An acme user reads tenants/acme: HTTP 200 with the tenant's document."""
    r = rest(endpoints.firestore_host, endpoints.firebase_project, "GET", "tenants/acme", acme.id_token)
    assert r.status_code == 200, f"acme's token GET tenants/acme: HTTP {r.status_code} {r.text[:200]}"
    assert r.json()["fields"]["id"]["stringValue"] == "acme"


def test_a_tenant_cannot_write_its_own_counters(endpoints, acme):
    """An acme user cannot PATCH tenants/acme/stats/counters: HTTP 403 PERMISSION_DENIED, counters untouched."""
    path = "tenants/acme/stats/counters"
    expect_denied(rest(endpoints.firestore_host, endpoints.firebase_project, "PATCH", path, acme.id_token),
                  f"acme's token PATCH {path}")
    counters = clients.firestore_doc(endpoints.firestore_host, endpoints.firebase_project, path) or {}
    assert PROBE_FIELD not in counters.get("fields", {}), "the denied write changed the counters"


def test_every_client_promise_of_the_rules_holds(endpoints, acme, globex):
    """Clients are confined: no anonymous access, no cross-tenant reads, no client writes, unknown paths denied."""
    got = check_clients_confined(endpoints.firestore_host, endpoints.firebase_project, acme.id_token,
                                 globex.id_token)
    assert sum(1 for v in got.values() if v == DENIED) == len(got) - 1


def test_the_pipeline_projects_under_the_rules(endpoints, acme):
    """Under the rules the server still projects: an ingested event's projection appears and acme can read it."""
    event_id = str(uuid.uuid4())
    r = clients.call(endpoints.functions_url, endpoints.firebase_project, "ingestEvent",
                     {"event_id": event_id, "type": "page.view", "payload": {"path": "/rules"}}, acme.id_token)
    assert r.status_code == 200, r.text
    path = f"tenants/acme/events/{event_id}"

    def projected():
        got = rest(endpoints.firestore_host, endpoints.firebase_project, "GET", path, acme.id_token)
        return got if got.status_code == 200 else None

    doc = clients.eventually(projected, timeout=60.0, interval=0.5)
    last = rest(endpoints.firestore_host, endpoints.firebase_project, "GET", path, acme.id_token)
    assert doc is not None, (f"no projection {path} readable by acme within 60 s; "
                             f"last answer HTTP {seen(last)[0]} {seen(last)[1] or last.text[:200]}")
    fields = doc.json()["fields"]
    assert fields["event_id"]["stringValue"] == event_id and fields["tenant_id"]["stringValue"] == "acme"
