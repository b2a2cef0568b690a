"""frontend: the public endpoint — a stand-in for the Angular SSR app. Serves a server-rendered HTML page of a
tenant's projections (read from Firestore) and proxies /api/* to the backend."""
from __future__ import annotations

import html
import logging
import re

import requests

from deml import projections
from deml.config import Config
from deml.process import Lifecycle, health_routes, serve

log = logging.getLogger("deml.frontend")
TENANT_PAGE = re.compile(r"^/t/(?P<tenant>[a-z0-9][a-z0-9_-]{0,62})/?$")


def render_tenant(db, tenant: str) -> str:
    stats = db.document(f"tenants/{tenant}/stats/counters").get().to_dict() or {}
    health = db.document(f"tenants/{tenant}/health/cron").get().to_dict() or {}
    events = [d.to_dict() for d in db.collection(f"tenants/{tenant}/events").limit(20).stream()]
    rows = "".join(f"<tr><td>{html.escape(e.get('occurred_at', ''))}</td><td>{html.escape(e.get('type', ''))}</td>"
                   f"<td>{html.escape(e.get('source', ''))}</td><td><code>{html.escape(e.get('event_id', ''))}</code></td></tr>"
                   for e in sorted(events, key=lambda e: e.get("occurred_at", ""), reverse=True))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(tenant)} · DEML</title></head><body>"
            f"<h1>Tenant {html.escape(tenant)}</h1>"
            f"<p>events projected: <b id='events-total'>{int(stats.get('events_total', 0))}</b> · "
            f"last cron tick: <span id='last-tick'>{html.escape(str(health.get('last_tick_at', 'never')))}</span></p>"
            f"<table><tr><th>occurred</th><th>type</th><th>source</th><th>event id</th></tr>{rows}</table>"
            "</body></html>")


def run(cfg: Config, life: Lifecycle, port: int) -> None:
    db = projections.client(cfg)
    backend = cfg["BACKEND_URL"].rstrip("/")
    session = requests.Session()

    def routes(method: str, path: str, handler):
        if path.startswith("/api/"):
            headers = {k: v for k, v in handler.headers.items() if k.lower() in ("authorization", "content-type")}
            body = handler.raw_body if method == "POST" else None
            r = session.request(method, backend + path, data=body, headers=headers, timeout=30)
            return r.status_code, r.content, r.headers.get("Content-Type", "application/json")
        if method == "GET" and path in ("/", "/index.html"):
            tenants = [d.id for d in db.collection("tenants").stream()]
            links = "".join(f"<li><a href='/t/{html.escape(t)}'>{html.escape(t)}</a></li>" for t in sorted(tenants))
            return 200, f"<!doctype html><html><body><h1>DEML</h1><ul>{links}</ul></body></html>", "text/html; charset=utf-8"
        m = TENANT_PAGE.match(path)
        if method == "GET" and m:
            return 200, render_tenant(db, m["tenant"]), "text/html; charset=utf-8"
        return None

    server = serve(port, health_routes(life, routes), life)
    log.info("frontend listening on :%d, proxying /api/* to %s", port, backend)
    while not life.stop.is_set():
        try:
            session.get(backend + "/healthz", timeout=3)
            life.beat("backend-reachable")
        except requests.RequestException as exc:
            if "backend-reachable" not in life.errors:
                log.warning("the backend at %s is unreachable: %s", backend, exc)
            life.failed("backend-reachable", exc)
        life.stop.wait(5)
    server.shutdown()
    log.info("frontend stopped")
