"""ClickHouse over plain HTTP (JSONEachRow): works with current ClickHouse and the OS's 18.16 stand-in."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import requests

from deml.config import Config


class ClickHouse:
    def __init__(self, cfg: Config):
        self.url = cfg["CLICKHOUSE_URL"].rstrip("/") + "/"
        self.auth = (cfg["CLICKHOUSE_USER"], cfg["CLICKHOUSE_PASSWORD"])
        self.db = cfg.get("CLICKHOUSE_DATABASE", "deml")
        self.session = requests.Session()

    def query(self, sql: str, timeout: float = 30) -> str:
        r = self.session.post(self.url, data=sql.encode(), auth=self.auth, timeout=timeout)
        if r.status_code != 200:
            raise RuntimeError(f"ClickHouse: {r.status_code} {r.text.strip()[:300]}")
        return r.text

    def rows(self, sql: str) -> list[dict]:
        text = self.query(sql.rstrip().rstrip(";") + " FORMAT JSONEachRow")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def insert(self, table: str, rows: list[dict]) -> None:
        if not rows:
            return
        body = f"INSERT INTO {self.db}.{table} FORMAT JSONEachRow\n" + "\n".join(json.dumps(r) for r in rows)
        self.query(body)


def ch_datetime(iso: str) -> str:
    """'2026-11-26T14:00:00.123Z' → '2026-11-26 14:00:00' (DateTime, second precision, UTC)."""
    dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def event_row(envelope: dict) -> dict:
    return {"event_id": envelope["event_id"], "tenant_id": envelope["tenant_id"], "type": envelope["type"],
            "source": envelope["source"], "occurred_at": ch_datetime(envelope["occurred_at"]),
            "payload": json.dumps(envelope["payload"], separators=(",", ":"), sort_keys=True), "version": 1}
