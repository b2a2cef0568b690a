"""Process lifecycle shared by every role: a stop flag set by SIGTERM/SIGINT (Fargate Spot gives 120 s, Lightsail
redeploys do the same), heartbeats for /healthz, and a tiny JSON HTTP server."""
from __future__ import annotations

import json
import logging
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

log = logging.getLogger("deml")


class Lifecycle:
    def __init__(self, role: str):
        self.role = role
        self.stop = threading.Event()
        self.beats: dict[str, float] = {}
        self.errors: dict[str, str] = {}
        self.stats: dict[str, int] = {}

    def install_signals(self) -> None:
        def handler(signum, _frame):
            log.info("%s: %s received, finishing in-flight work", self.role, signal.Signals(signum).name)
            self.stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def beat(self, loop: str) -> None:
        self.beats[loop] = time.monotonic()
        self.errors.pop(loop, None)

    def failed(self, loop: str, exc: BaseException) -> None:
        self.errors[loop] = f"{type(exc).__name__}: {exc}"[:300]

    def count(self, name: str, n: int = 1) -> None:
        self.stats[name] = self.stats.get(name, 0) + n

    def healthy(self, max_age: float = 30.0) -> tuple[bool, dict]:
        now = time.monotonic()
        ages = {k: round(now - v, 1) for k, v in self.beats.items()}
        ok = bool(self.beats) and all(a <= max_age for a in ages.values())
        return ok, {"role": self.role, "ok": ok, "loops": ages, "errors": self.errors, "stats": self.stats}


Route = Callable[[BaseHTTPRequestHandler, dict], tuple[int, object, str] | None]


def serve(port: int, routes: Callable[[str, str, BaseHTTPRequestHandler], tuple[int, object, str] | None],
          lifecycle: Lifecycle) -> ThreadingHTTPServer:
    """Serve routes(method, path, handler) → (status, body, content type) on [::]:port (IPv4 too) in a thread."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # access logs would drown the useful lines
            pass

        def _do(self, method: str) -> None:
            # read the whole body first: an unread body would be parsed as the next request on this connection
            length = int(self.headers.get("Content-Length") or 0)
            self.raw_body = self.rfile.read(length) if length else b""
            try:
                answer = routes(method, self.path, self)
            except Exception as exc:  # noqa: BLE001 — an HTTP 500 is the answer, the server keeps serving
                log.exception("%s %s failed", method, self.path)
                answer = (500, {"error": f"{type(exc).__name__}: {exc}"[:300]}, "application/json")
            if answer is None:
                answer = (404, {"error": f"no route {method} {self.path}"}, "application/json")
            status, body, ctype = answer
            data = body if isinstance(body, bytes) else (body.encode() if isinstance(body, str) else json.dumps(body).encode())
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802
            self._do("GET")

        def do_POST(self):  # noqa: N802
            self._do("POST")

        def body_json(self):
            return json.loads(self.raw_body) if self.raw_body else {}

    server = _listen(port, Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"http:{port}", daemon=True).start()
    return server


class _DualStackServer(ThreadingHTTPServer):
    """Listens on `::` with IPV6_V6ONLY off: IPv6 and IPv4 clients both reach it. A private network that
    resolves service names to IPv6 only (Railway environments created before 2025-10-16) refuses a server bound
    to 0.0.0.0; Railway's docs ask apps to listen on `::`."""

    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()


def _listen(port: int, handler) -> ThreadingHTTPServer:
    try:
        return _DualStackServer(("::", port), handler)
    except OSError as exc:  # a kernel without IPv6: IPv4 only
        log.warning("cannot listen on [::]:%d (%s); listening on 0.0.0.0:%d (IPv4 only)", port, exc, port)
        return ThreadingHTTPServer(("0.0.0.0", port), handler)


def health_routes(lifecycle: Lifecycle, extra: Route | None = None):
    from deml.config import present

    def routes(method: str, path: str, handler) -> tuple[int, object, str] | None:
        if method == "GET" and path == "/healthz":
            ok, detail = lifecycle.healthy()
            return (200 if ok else 503), detail, "application/json"
        if method == "GET" and path == "/contract/env":
            return 200, {"role": lifecycle.role, "present": present()}, "application/json"
        return extra(method, path, handler) if extra else None

    return routes


def setup_logging() -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
