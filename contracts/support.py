"""What the contracts share: acting as users, reading the topics, counting projections and rows exactly."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from harness.testing import clients
from harness.testing import Endpoints, kafka_config


class Laps:
    """Where a contract's time goes: lap("load") after each phase; str() lists them ("load 7.1 s, drain 3.0 s")."""

    def __init__(self):
        self.last = time.monotonic()
        self.parts: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.parts.append((name, now - self.last))
        self.last = now

    def __str__(self) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.parts)

    def emit(self) -> None:
        """One 'phases: {json}' line: the contract report keeps it in contracts.json (bench/gate.py reads it)."""
        import json

        merged: dict[str, float] = {}
        for name, seconds in self.parts:
            merged[name] = round(merged.get(name, 0.0) + seconds, 2)
        print("phases: " + json.dumps(merged))

# A contract's deliberate non-envelope message carries this header (contracts/test_kafka_acls.py); the AsyncAPI
# conformance contract counts such messages instead of checking them.
PROBE_HEADER = "topo-contract-probe"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def kafka_conf(e: Endpoints, **extra) -> dict:
    """The application user's SASL client settings (the same as the runtime's Kafka probe), plus extra."""
    return kafka_config(e, **extra)


class KafkaTap:
    """Reads a topic from the high watermarks seen at creation: only what was produced afterwards."""

    def __init__(self, e: Endpoints, topic: str):
        from confluent_kafka import Consumer, TopicPartition

        self.topic = topic
        self.consumer = Consumer(kafka_conf(e, **{"group.id": unique("contract-tap"), "enable.auto.commit": False}))
        parts = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        starts = []
        for p in parts:
            _low, high = self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            starts.append(TopicPartition(topic, p, high))
        self.consumer.assign(starts)
        self.starts = {tp.partition: tp.offset for tp in starts}

    def read(self, until, timeout: float = 60.0) -> list:
        """Collect messages until until(messages) is true or the deadline passes."""
        got: list = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not until(got):
            msg = self.consumer.poll(0.5)
            if msg is not None and not msg.error():
                got.append(msg)
        return got

    def read_to(self, marks: dict, timeout: float = 60.0) -> list:
        """Every message of the topic from the tap's start up to the offsets in marks ({(topic, partition): end},
        e.g. from `drain`), on every partition: a complete record, not a time window."""
        ends = {p: end for (t, p), end in marks.items() if t == self.topic}
        got: list = []
        pos = {p: self.starts.get(p, 0) - 1 for p in ends}  # the last offset read on each partition
        deadline = time.monotonic() + timeout
        while any(pos[p] + 1 < end for p, end in ends.items()):
            if time.monotonic() > deadline:
                short = {p: (pos[p] + 1, end) for p, end in ends.items() if pos[p] + 1 < end}
                raise AssertionError(f"{self.topic}: could not read up to the marks within {timeout:.0f} s "
                                     f"(partition: (read to, mark) {short})")
            msg = self.consumer.poll(0.25)
            if msg is not None and not msg.error():
                pos[msg.partition()] = max(pos.get(msg.partition(), -1), msg.offset())
                if msg.offset() < ends.get(msg.partition(), 0):
                    got.append(msg)
        return got

    def close(self) -> None:
        self.consumer.close()


def high_watermarks(e: Endpoints, topics: tuple[str, ...] = ("frontend-events", "internal-tasks")) -> dict:
    """{(topic, partition): end offset} now: everything acknowledged so far lies below these offsets."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(kafka_conf(e, **{"group.id": unique("contract-marks"), "enable.auto.commit": False}))
    try:
        marks = {}
        for topic in topics:
            for p in c.list_topics(topic, timeout=10).topics[topic].partitions:
                marks[(topic, p)] = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        return marks
    finally:
        c.close()


def wait_committed(e: Endpoints, marks: dict, group: str = "telemetry-worker", timeout: float = 120.0) -> None:
    """Wait until `group` has committed offsets at or past `marks` on every partition: every batch before them,
    redeliveries after a crash included, is then fully processed, so counts read afterwards are final.
    Reads the group's committed offsets (OffsetFetch) without joining the group."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(kafka_conf(e, **{"group.id": group, "enable.auto.commit": False}))
    try:
        deadline = time.monotonic() + timeout
        while True:
            parts = [TopicPartition(t, p) for (t, p) in marks]
            behind = {(tp.topic, tp.partition): marks[(tp.topic, tp.partition)] - max(tp.offset, 0)
                      for tp in c.committed(parts, timeout=10)}
            behind = {k: v for k, v in behind.items() if v > 0}
            if not behind:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"consumer group {group} has not committed past the events under test within "
                                     f"{timeout:.0f} s; still behind: "
                                     + ", ".join(f"{t}[{p}] by {n}" for (t, p), n in sorted(behind.items())))
            time.sleep(0.5)
    finally:
        c.close()


def firestore_count_where(e: Endpoints, parent: str, collection: str, field: str, value: str) -> int:
    url = f"http://{e.firestore_host}/v1/projects/{e.firebase_project}/databases/(default)/documents/{parent}"
    body = {"structuredAggregationQuery": {"structuredQuery": {
        "from": [{"collectionId": collection}],
        "where": {"fieldFilter": {"field": {"fieldPath": field}, "op": "EQUAL", "value": {"stringValue": value}}}},
        "aggregations": [{"alias": "n", "count": {}}]}}
    r = requests.post(f"{url}:runAggregationQuery", json=body, headers={"Authorization": "Bearer owner"}, timeout=60)
    r.raise_for_status()
    return int(r.json()[0]["result"]["aggregateFields"]["n"]["integerValue"])


def counter(e: Endpoints, tenant: str, *path: str) -> int:
    doc = clients.firestore_doc(e.firestore_host, e.firebase_project, f"tenants/{tenant}/stats/counters") or {}
    value = {"mapValue": {"fields": doc.get("fields", {})}}
    for key in path:
        value = value.get("mapValue", {}).get("fields", {}).get(key, {})
    return int(value.get("integerValue", 0))


def ch(e: Endpoints, sql: str) -> list[dict]:
    return clients.clickhouse(e.clickhouse_url, e.clickhouse_user, e.clickhouse_password, sql)


def ch_count(e: Endpoints, where: str, final: bool = True) -> int:
    return int(ch(e, f"SELECT count() AS n FROM deml.events {'FINAL' if final else ''} WHERE {where}")[0]["n"])


def reach(count, expected: int, timeout: float, what: str = "") -> int:
    """Poll count() until it reaches `expected` or the deadline passes; return the last value. A fast way to know
    the load is through; never the final word on a count (a late duplicate may still come: see `exact`)."""
    deadline = time.monotonic() + timeout
    value = count()
    while value < expected and time.monotonic() < deadline:
        time.sleep(0.25)
        value = count()
    return value


def pg(e: Endpoints, sql: str, *params) -> list[tuple]:
    """Rows of one Postgres query, on a connection of its own."""
    import psycopg

    with psycopg.connect(e.postgres_dsn, password=e.postgres_password, connect_timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def outbox_unpublished(e: Endpoints) -> int:
    """Rows of the Postgres outbox the relay has not marked published (a crash between produce and mark leaves
    them so: they are re-published)."""
    return pg(e, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]


def wait_outbox_drained(e: Endpoints, timeout: float = 120.0) -> None:
    """Wait until the relay has published and marked every outbox row: every re-publish is then acknowledged."""
    deadline = time.monotonic() + timeout
    left = outbox_unpublished(e)
    while left and time.monotonic() < deadline:
        time.sleep(0.25)
        left = outbox_unpublished(e)
    if left:
        raise AssertionError(f"the relay left {left} outbox rows unpublished after {timeout:.0f} s")


def drain(e: Endpoints, timeout: float = 120.0, outbox: bool = False) -> dict:
    """The facts after which counts are final: (with outbox) the relay has marked every row, so every re-publish
    is on the topic; the high watermarks taken then bound every event under test; the telemetry worker's group
    has committed past them, so every batch below them (redeliveries after a crash included) is fully written.
    Returns the watermarks."""
    if outbox:
        wait_outbox_drained(e, timeout)
    marks = high_watermarks(e)
    wait_committed(e, marks, timeout=timeout)
    return marks


def exact(e: Endpoints, count, expected: int, timeout: float = 120.0, outbox: bool = False) -> int:
    """The final value of count(): wait until it reaches `expected` (or the deadline), then until the pipeline
    has drained past every event under test (`drain`), then read it once. No quiet period: a duplicate that could
    still arrive would have to lie past offsets the worker already committed."""
    reach(count, expected, timeout)
    drain(e, timeout, outbox=outbox)
    return count()


def ingest_many(e: Endpoints, token: str, events: list[dict], workers: int = 12, retries: int = 30,
                deadline_s: float = 600.0, on_ack=None) -> list[dict]:
    """Call ingestEvent for each event (each carries its own event_id: a retry is the same event).
    Retries UNAVAILABLE and connection errors with the same event_id; returns the results. Bounded in time.
    on_ack(event) is called from the calling thread as each event is acknowledged."""
    deadline = time.monotonic() + deadline_s

    def one(ev: dict) -> dict:
        for attempt in range(retries):
            if time.monotonic() > deadline:
                raise AssertionError(f"ingestEvent calls did not finish within {deadline_s:.0f} s")
            try:
                r = clients.call(e.functions_url, e.firebase_project, "ingestEvent", ev, token)
                if r.status_code == 200:
                    if on_ack is not None:
                        on_ack(ev)
                    return r.json()["result"]
                if r.status_code not in (500, 503):
                    raise AssertionError(f"ingestEvent answered {r.status_code}: {r.text[:200]}")
            except requests.RequestException:
                pass
            time.sleep(min(0.2 * (attempt + 1), 2.0))
        raise AssertionError(f"ingestEvent never acknowledged {ev['event_id']} after {retries} attempts")

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, events))


def act_many(e: Endpoints, token: str, tenant: str, actions: list[dict], workers: int = 8) -> list[dict]:
    session = requests.Session()

    def one(body: dict) -> dict:
        for attempt in range(20):
            try:
                r = session.post(f"{e.backend_url}/api/tenants/{tenant}/actions", json=body,
                                 headers={"Authorization": f"Bearer {token}"}, timeout=30)
                if r.status_code == 201:
                    return r.json()
                raise AssertionError(f"backend answered {r.status_code}: {r.text[:200]}")
            except requests.RequestException:
                time.sleep(0.5)
        raise AssertionError("backend unreachable")

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, actions))


def fault_log_lines(stack, service: str, fault: str) -> int:
    """How many times the service's container logged that the fault fired (the app logs 'fault NAME injected'
    right before it exits with code 3). The container's log spans its restarts; set_env starts a new one."""
    from harness.testing import run

    out = run(["docker", "logs", stack.compose.container_id(service)], check=False)
    return (out.stdout + out.stderr).count(f"fault {fault} injected")


def page_views(n: int, type_: str) -> list[dict]:
    return [{"event_id": str(uuid.uuid4()), "type": type_, "payload": {"i": i}} for i in range(n)]


def plain(value: dict):
    """A Firestore REST value → a plain Python value."""
    if "mapValue" in value:
        return {k: plain(v) for k, v in value["mapValue"].get("fields", {}).items()}
    if "arrayValue" in value:
        return [plain(v) for v in value["arrayValue"].get("values", [])]
    if "integerValue" in value:
        return int(value["integerValue"])
    if "nullValue" in value:
        return None
    return next(iter(value.values()))
