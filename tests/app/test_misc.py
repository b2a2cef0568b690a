"""Route regexes (backend ACTION, frontend TENANT_PAGE), Lifecycle.healthy(), `deml` CLI argument errors."""
from __future__ import annotations

import time

import pytest

from deml import cli
from deml.process import Lifecycle
from deml.roles.backend import ACTION
from deml.roles.frontend import TENANT_PAGE

ACTION_CASES = [
    ("/api/tenants/acme/actions", "acme"),
    ("/api/tenants/acme/actions/", "acme"),
    ("/api/tenants/tenant0/actions", "tenant0"),
    ("/api/tenants/a_b-9/actions", "a_b-9"),
    ("/api/tenants/" + "a" * 63 + "/actions", "a" * 63),
    ("/api/tenants/" + "a" * 64 + "/actions", None),
    ("/api/tenants/Acme/actions", None),
    ("/api/tenants/-acme/actions", None),
    ("/api/tenants//actions", None),
    ("/api/tenants/acme/actions/x", None),
    ("/api/tenants/acme/other", None),
    ("/api/tenants/a/b/actions", None),
    ("/api/tenants/../actions", None),
    ("/x/api/tenants/acme/actions", None),
]


@pytest.mark.parametrize("path,tenant", ACTION_CASES)
def test_backend_action_route(path, tenant):
    m = ACTION.match(path)
    assert (m["tenant"] if m else None) == tenant


TENANT_PAGE_CASES = [
    ("/t/acme", "acme"),
    ("/t/acme/", "acme"),
    ("/t/tenant0", "tenant0"),
    ("/t/" + "z" * 63, "z" * 63),
    ("/t/" + "z" * 64, None),
    ("/t/", None),
    ("/t/ACME", None),
    ("/t/_acme", None),
    ("/t/acme/events", None),
    ("/t/acme%2Fx", None),
    ("/tenants/acme", None),
]


@pytest.mark.parametrize("path,tenant", TENANT_PAGE_CASES)
def test_frontend_tenant_page_route(path, tenant):
    m = TENANT_PAGE.match(path)
    assert (m["tenant"] if m else None) == tenant


# ---- Lifecycle.healthy ----------------------------------------------------------------------------------

def test_no_beats_is_unhealthy():
    ok, detail = Lifecycle("daemon").healthy()
    assert ok is False
    assert detail == {"role": "daemon", "ok": False, "loops": {}, "errors": {}, "stats": {}}


def test_fresh_beats_are_healthy():
    life = Lifecycle("daemon")
    life.beat("relay")
    life.beat("cron")
    life.count("relayed", 3)
    life.count("relayed")
    ok, detail = life.healthy()
    assert ok is True and detail["ok"] is True
    assert set(detail["loops"]) == {"relay", "cron"} and all(0 <= a < 1 for a in detail["loops"].values())
    assert detail["stats"] == {"relayed": 4}


@pytest.mark.parametrize("age,max_age,expected", [(5, 30, True), (31, 30, False), (100, 30, False), (31, 60, True)])
def test_stale_beat_is_unhealthy(age, max_age, expected):
    life = Lifecycle("workers")
    life.beat("fresh")
    life.beats["old"] = time.monotonic() - age
    ok, detail = life.healthy(max_age=max_age)
    assert ok is expected
    assert detail["loops"]["old"] >= age


def test_errors_are_reported_and_cleared_by_a_beat():
    life = Lifecycle("daemon")
    life.beat("relay")
    life.failed("relay", ConnectionError("db down"))
    life.failed("cron", ValueError("x" * 500))
    ok, detail = life.healthy()
    assert ok is True  # errors are reported; freshness decides health
    assert detail["errors"]["relay"] == "ConnectionError: db down"
    assert detail["errors"]["cron"].startswith("ValueError: xxx") and len(detail["errors"]["cron"]) == 300
    life.beat("relay")
    assert set(life.healthy()[1]["errors"]) == {"cron"}


# ---- deml CLI ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    [], ["nope"], ["Backend"], ["backend", "8080"], ["backend", "--port"], ["backend", "--port", "1", "x"],
    ["backend", "-p", "8080"], ["--port", "8080", "backend"],
])
def test_cli_argument_errors_exit_2_with_usage(argv, capsys, monkeypatch):
    monkeypatch.setattr("deml.config.load", lambda *a, **k: pytest.fail("got past argument parsing"))
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: deml {frontend,backend,daemon,telemetry-worker,workers} [--port PORT]")


def test_cli_non_numeric_port_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.setattr("deml.config.load", lambda *a, **k: pytest.fail("got past argument parsing"))
    with pytest.raises(SystemExit) as exc:
        cli.main(["backend", "--port", "abc"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith("usage: deml ")


@pytest.mark.parametrize("argv, env, expected", [
    (["backend", "--port", "8000"], {"PORT": "9000"}, 8000),  # --port wins
    (["backend"], {"PORT": "9000"}, 9000),  # Railway / Cloud Run inject PORT
    (["backend"], {}, 8080),
])
def test_cli_port_from_argument_then_PORT_then_8080(argv, env, expected, monkeypatch):
    seen = {}
    monkeypatch.delenv("PORT", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr("deml.config.load", lambda role: {})
    monkeypatch.setattr("deml.process.setup_logging", lambda: None)
    monkeypatch.setattr("deml.process.Lifecycle.install_signals", lambda self: None)
    monkeypatch.setattr("deml.roles.backend.run", lambda cfg, life, port: seen.setdefault("port", port))
    cli.main(argv)
    assert seen["port"] == expected


def test_http_server_answers_on_ipv4_and_ipv6():
    """Railway's legacy private network resolves names to IPv6 only: a server on 0.0.0.0 would be refused there."""
    import socket
    import urllib.request

    from deml import process

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = process.serve(port, lambda method, path, h: (200, "ok", "text/plain"), Lifecycle("test"))
    try:
        assert server.socket.family == socket.AF_INET6
        for url in (f"http://127.0.0.1:{port}/", f"http://[::1]:{port}/"):
            assert urllib.request.urlopen(url, timeout=3).read() == b"ok", url
    finally:
        server.shutdown()
        server.server_close()


def test_firebase_app_is_initialised_once_under_concurrent_first_calls(monkeypatch):
    """The backend's first requests arrive on several threads at once: each must get the one app, none a
    ValueError from a second initialize_app (seen as 401 'invalid ID token: ValueError' on a fresh backend)."""
    import threading

    import firebase_admin

    from deml import auth

    calls = []
    real = firebase_admin.initialize_app

    def slow_initialize(*args, **kwargs):  # widen the window in which a second caller could slip in
        calls.append(1)
        time.sleep(0.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(firebase_admin, "initialize_app", slow_initialize)
    auth.app.cache_clear()
    project = f"demo-race-{time.time_ns()}"
    results, errors = [], []

    def call():
        try:
            results.append(auth.app(project))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert not errors, errors
        assert len(calls) == 1 and len({id(a) for a in results}) == 1
    finally:
        firebase_admin.delete_app(results[0]) if results else None
        auth.app.cache_clear()
