"""Redpanda admin API subset for the Kafka stand-in (port 9644).

GET  /v1/status/ready            200 {"status":"ready"} once the broker answers Kafka requests, else 503
GET  /v1/cluster/health_overview {"is_healthy": bool, ...}
GET  /v1/security/users          ["name", ...]          (SCRAM users)
POST /v1/security/users          {"username","password","algorithm":"SCRAM-SHA-256"} -> creates a SCRAM user
DELETE /v1/security/users/NAME   deletes a SCRAM user
Readiness is a real Kafka ApiVersions round trip (allowed before SASL) on the loopback listener.
"""
import argparse
import json
import socket
import struct
import subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RPK = "/usr/local/bin/rpk-standin"


def kafka_ready(host: str, port: int, timeout: float = 2.0) -> bool:
    client_id = b"topo-ready"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id  # ApiVersions v0, corr id 1
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(struct.pack(">i", len(body)) + body)
            head = b""
            while len(head) < 10:
                chunk = s.recv(10 - len(head))
                if not chunk:
                    return False
                head += chunk
            _size, corr, err = struct.unpack(">iih", head)
            return corr == 1 and err == 0
    except OSError:
        return False


class Handler(BaseHTTPRequestHandler):
    kafka = ("127.0.0.1", 33146)

    def log_message(self, fmt, *args):  # quiet: healthchecks poll this every few seconds
        pass

    def _send(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path == "/v1/status/ready":
            ok = kafka_ready(*self.kafka)
            return self._send(200 if ok else 503, {"status": "ready" if ok else "booting"})
        if path == "/v1/cluster/health_overview":
            ok = kafka_ready(*self.kafka)
            return self._send(200, {"is_healthy": ok, "controller_id": 1 if ok else -1,
                                    "all_nodes": [1], "nodes_down": [] if ok else [1],
                                    "leaderless_partitions": [], "unhealthy_reasons": [] if ok else ["booting"]})
        if path == "/v1/security/users":
            r = subprocess.run([RPK, "acl", "user", "list", "--names-only"], capture_output=True, text=True)
            if r.returncode != 0:
                return self._send(500, {"message": r.stderr.strip()[-500:]})
            return self._send(200, [u for u in r.stdout.split() if u])
        return self._send(404, {"message": "not available in the stand-in", "code": 404})

    def do_POST(self):
        if self.path.split("?")[0].rstrip("/") != "/v1/security/users":
            return self._send(404, {"message": "not available in the stand-in", "code": 404})
        try:
            n = int(self.headers.get("Content-Length") or 0)
            req = json.loads(self.rfile.read(n) or b"{}")
            user, pw = req["username"], req["password"]
            mech = req.get("algorithm", "SCRAM-SHA-256").upper()
        except (ValueError, KeyError) as e:
            return self._send(400, {"message": f"bad request: {e}", "code": 400})
        r = subprocess.run([RPK, "acl", "user", "create", user, "-p", pw, "--mechanism", mech],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return self._send(400, {"message": r.stderr.strip()[-500:], "code": 400})
        return self._send(200, {"name": user, "algorithm": mech})

    def do_DELETE(self):
        prefix = "/v1/security/users/"
        if not self.path.startswith(prefix):
            return self._send(404, {"message": "not available in the stand-in", "code": 404})
        user = self.path[len(prefix):].split("?")[0]
        r = subprocess.run([RPK, "acl", "user", "delete", user], capture_output=True, text=True)
        if r.returncode != 0:
            return self._send(400, {"message": r.stderr.strip()[-500:], "code": 400})
        return self._send(200, {})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9644)
    ap.add_argument("--kafka", default="127.0.0.1:33146")
    a = ap.parse_args()
    host, port = a.kafka.rsplit(":", 1)
    Handler.kafka = (host, int(port))
    ThreadingHTTPServer(("0.0.0.0", a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
