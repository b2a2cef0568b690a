#!/usr/bin/env python3
"""Smoke test of a running deml/firebase container (stdlib only). Usage:
    smoke-test.py [--host 127.0.0.1] [--project demo-deml] [--wait 120]
Waits for Firestore, Auth and the ingestEvent callable (printing the seconds each took from
the script's start), signs a user up, sets the custom claim tenant_id, signs in again,
calls ingestEvent with and without the ID token, measures warm latency, and writes and
reads a Firestore document over REST. Exits non-zero on the first failure."""
import argparse
import base64
import json
import statistics
import sys
import time
import urllib.error
import urllib.request


def call(method, url, body=None, headers=None, timeout=5):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--project", default="demo-deml")
    ap.add_argument("--wait", type=float, default=120)
    a = ap.parse_args()
    auth = f"http://{a.host}:9099/identitytoolkit.googleapis.com/v1"
    fn = f"http://{a.host}:5001/{a.project}/us-central1/ingestEvent"
    docs = f"http://{a.host}:8080/v1/projects/{a.project}/databases/(default)/documents"
    owner = {"Authorization": "Bearer owner"}

    probes = {
        "firestore": lambda: call("GET", f"http://{a.host}:8080/", timeout=1)[0] == 200,
        "auth": lambda: call("GET", f"http://{a.host}:9099/", timeout=1)[0] == 200,
        "functions": lambda: call("GET", f"http://{a.host}:5001/backends", timeout=1)[0] == 200
        and "ingestEvent" in json.dumps(call("GET", f"http://{a.host}:5001/backends")[1]),
    }
    t0, ready = time.monotonic(), {}
    while len(ready) < len(probes) and time.monotonic() - t0 < a.wait:
        for name, probe in probes.items():
            try:
                if name not in ready and probe():
                    ready[name] = round(time.monotonic() - t0, 2)
            except OSError:
                pass
        time.sleep(0.1)
    expect(len(ready) == len(probes), f"ready after seconds: {ready}")

    email, password = f"smoke{int(time.time() * 1000)}@example.com", "secret123"
    st, body = call("POST", f"{auth}/accounts:signUp?key=fake",
                    {"email": email, "password": password, "returnSecureToken": True})
    expect(st == 200, f"auth signUp -> {st}")
    st, _ = call("POST", f"{auth}/projects/{a.project}/accounts:update",
                 {"localId": body["localId"], "customAttributes": json.dumps({"tenant_id": "t-smoke"})},
                 owner)
    expect(st == 200, f"auth set custom claim tenant_id -> {st}")
    st, body = call("POST", f"{auth}/accounts:signInWithPassword?key=fake",
                    {"email": email, "password": password, "returnSecureToken": True})
    token = body.get("idToken", "") if st == 200 else ""
    part = token.split(".")[1] if token.count(".") == 2 else ""
    claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) or b"{}") if part else {}
    expect(claims.get("tenant_id") == "t-smoke", f"auth signIn -> {st}, token tenant_id={claims.get('tenant_id')}")

    bearer = {"Authorization": f"Bearer {token}"}
    st, body = call("POST", fn, {"data": {"event_id": "e-1"}}, bearer)
    expect(st == 200 and body == {"result": {"event_id": "e-1", "tenant": "t-smoke"}},
           f"ingestEvent with token -> {st} {body}")
    st, body = call("POST", fn, {"data": {"event_id": "e-1"}})
    expect(st == 401 and body.get("error", {}).get("status") == "UNAUTHENTICATED",
           f"ingestEvent without token -> {st} {body}")
    lat = []
    for i in range(20):
        t = time.perf_counter()
        st, _ = call("POST", fn, {"data": {"event_id": f"e-{i}"}}, bearer)
        lat.append((time.perf_counter() - t) * 1000)
        if st != 200:
            expect(False, f"warm call {i} -> {st}")
    print(f"ok   ingestEvent warm latency: median {statistics.median(lat):.1f} ms, max {max(lat):.1f} ms")

    doc = {"fields": {"name": {"stringValue": "smoke"}, "n": {"integerValue": "42"}}}
    st, _ = call("PATCH", f"{docs}/smoke/doc1", doc, owner)
    expect(st == 200, f"firestore write -> {st}")
    st, body = call("GET", f"{docs}/smoke/doc1", headers=owner)
    expect(st == 200 and body.get("fields") == doc["fields"], f"firestore read -> {st}")


if __name__ == "__main__":
    main()
