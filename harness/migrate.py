"""`topo migrate FROM TO`: rehearse switching hosts between two running stacks of one topology, and prove with a
data equivalence report that nothing was lost or duplicated (the platform chapter: "migrate Postgres via
dump/restore ..., and replay or mirror Redpanda topics as needed").

The order of a switch (each step says what it waited for and how long):

1. **Freeze writes on FROM.** The app has no read-only switch, so the freeze is made where writes enter:
   the front doors (app services that neither produce to nor consume a topic: frontend, backend) are stopped, so no
   domain or outbox row is written any more; the outbox relay keeps running until the outbox is drained (every row
   published and marked); then the broker itself refuses every produce: the topics' WRITE ACLs of the non-superusers
   are deleted (that freezes the `ingestEvent` callable too, whose emulator also hosts Firestore and so cannot be
   stopped) and the producing app services (daemon) are stopped. Then the consumer groups (one per consuming
   service, as named in the ACLs) must have committed up to the high watermarks: FROM's projections are final.
   At the end FROM's watermarks are read again: unchanged watermarks are the proof that the freeze held.
2. **Quiesce TO** the same way (its own ticks projected and committed), then stop its app services: the data is
   restored under stopped apps, as on a real cut-over, and the apps start afterwards.
3. **Postgres**: `pg_dump -Fc` inside FROM's container piped into `pg_restore --clean --if-exists
   --single-transaction` inside TO's (`docker exec`, password from the environment, never on a command line).
   Why not COPY from the host: the dump carries the schema, constraints, indexes and the sequences' positions
   (the outbox's `seq`), which COPY of the rows alone would lose; `--clean` replaces TO's bootstrap rows.
   Compared per table: rows, the in-database checksum `md5(string_agg(t::text, '\\n' ORDER BY t::text COLLATE
   "C"))` (session TimeZone UTC, ISO dates), and row by row (primary key → md5 of the row) for the evidence.
4. **ClickHouse**: every table of the app's databases, `TRUNCATE` on TO (dropping partitions where the server
   refuses), then `SELECT * ... FORMAT JSONEachRow` from FROM inserted into TO in batches over HTTP — raw rows,
   not FINAL, so unmerged ReplacingMergeTree duplicates are moved as they are. Compared as queries see the table
   (FINAL for the Replacing/Collapsing family: a background merge may collapse duplicates on either side at any
   time): `count()` and `sum(cityHash64(col, ...))` (the columns listed: ClickHouse 18.16, the offline stand-in,
   has no `cityHash64(*)`), and row by row (first column → cityHash64 of the row).
5. **Topics**: each declared topic, partition by partition, from the low to the high watermark, read as the admin
   user and produced to TO with the same partition, key, headers and create-time timestamp by an idempotent
   producer (acks=all, order kept). TO may hold messages of its own from before the freeze (its cron's ticks):
   they are left in place and the comparison covers the copied range, read back from TO's broker. Per partition:
   count, a digest of (key, value, headers) in offset order, lost / duplicated / reordered messages.
6. **Firestore** stays where it is (the chapter: all Firebase surfaces continue unchanged), but here each stack has
   its own emulator, so TO's projections are rebuilt from the copied topics: TO's consumers start first, read the
   copied range (duplicates in it — a client's retried call, a relay re-publish — must be absorbed by the worker's
   processed markers) and commit up to TO's high watermarks; then, per tenant, TO's counters and markers grew by
   exactly FROM's. Consumer group offsets are not copied (they are offsets of another log).
7. **Switch**: TO's remaining app services start; the write downtime is from the first stopped front door on FROM
   to TO's front doors answering their health probes. FROM stays frozen; `topo up --target FROM -p PROJECT` undoes
   the freeze (it starts the stopped containers and re-applies the declared ACLs).

The comparison functions (`compare`, `table_result`, `partition_result`, `counters_result`, `verdict`) are pure and
tested with deliberately broken copies in tests/test_migrate.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from harness.errors import CommandError, TopoError

Say = Callable[[str], None]
EXAMPLES = 5  # example keys kept per kind of difference
MARKERS, PROJECTIONS = "markers (processed/)", "projections (events/)"

# ---- pure comparison ------------------------------------------------------------------------------------------


def fingerprint(*parts) -> str:
    """A stable digest of a message or row: each part length-prefixed (None differs from b'')."""
    h = hashlib.sha256()
    for part in parts:
        if part is None:
            h.update(b"\xff")
            continue
        data = part if isinstance(part, bytes) else str(part).encode()
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()[:32]


def message_fingerprint(key: bytes | None, value: bytes | None, headers) -> str:
    flat: list = [key, value]
    for name, val in headers or ():
        flat += [name, val]
    return fingerprint(*flat)


def message_id(key: bytes | None, value: bytes | None) -> str:
    """How a message is named in the evidence: its envelope's event_id, else its key."""
    try:
        return str(json.loads(value or b"null")["event_id"])
    except (ValueError, TypeError, KeyError):
        return (key or b"").decode(errors="replace")


def digest(fps: Iterable[str], ordered: bool) -> str:
    """One digest of a sequence (ordered: a topic partition) or of a multiset (unordered: a table's rows)."""
    items = list(fps) if ordered else sorted(fps)
    return hashlib.sha256("\n".join(items).encode()).hexdigest()[:16]


def compare(src: list[tuple[str, str]], dst: list[tuple[str, str]], ordered: bool) -> dict:
    """Compare FROM's items with TO's, each item (key, fingerprint). Counts and digests, then what differs:
    lost (in FROM, not in TO), duplicated (in TO more often than in FROM), changed (a key on both sides whose
    content differs), unexpected (in TO, never in FROM), reordered (ordered only: same items, other order).
    Each with up to EXAMPLES example keys."""
    fa, fb = Counter(fp for _k, fp in src), Counter(fp for _k, fp in dst)
    key_of = {fp: k for k, fp in list(src) + list(dst)}
    missing, extra = fa - fb, fb - fa
    changed_keys = {key_of[fp] for fp in missing} & {key_of[fp] for fp in extra}
    lost = {fp: n for fp, n in missing.items() if key_of[fp] not in changed_keys}
    dup = {fp: n for fp, n in extra.items() if fp in fa}
    unexpected = {fp: n for fp, n in extra.items() if fp not in fa and key_of[fp] not in changed_keys}
    out = {"from": len(src), "to": len(dst),
           "digest_from": digest((fp for _k, fp in src), ordered), "digest_to": digest((fp for _k, fp in dst), ordered),
           "lost": sum(lost.values()), "duplicated": sum(dup.values()), "changed": len(changed_keys),
           "unexpected": sum(unexpected.values()), "reordered": False, "examples": {}}
    if ordered and not missing and not extra and [fp for _k, fp in src] != [fp for _k, fp in dst]:
        out["reordered"] = True
        first = next(i for i, (a, b) in enumerate(zip(src, dst)) if a[1] != b[1])
        out["examples"]["reordered"] = [f"offset +{first}: FROM key {src[first][0]!r}, TO key {dst[first][0]!r}"]
    for name, fps in (("lost", lost), ("duplicated", dup), ("unexpected", unexpected)):
        if fps:
            out["examples"][name] = sorted({str(key_of[fp]) for fp in fps})[:EXAMPLES]
    if changed_keys:
        out["examples"]["changed"] = sorted(str(k) for k in changed_keys)[:EXAMPLES]
    out["ok"] = (not (out["lost"] or out["duplicated"] or out["changed"] or out["unexpected"] or out["reordered"])
                 and out["from"] == out["to"] and out["digest_from"] == out["digest_to"])
    return out


def table_result(store: str, table: str, src_rows, dst_rows, checksum_from: str = "", checksum_to: str = "") -> dict:
    """A table moved between two stores: rows compared as a multiset keyed for evidence, plus the store's own
    checksum of each side (a difference there fails the table even where the row texts agree)."""
    r = {"store": store, "table": table, **compare(list(src_rows), list(dst_rows), ordered=False),
         "checksum_from": checksum_from, "checksum_to": checksum_to}
    if checksum_from != checksum_to:
        r["ok"] = False
        r.setdefault("examples", {})["checksum"] = [f"{checksum_from} ≠ {checksum_to}"]
    return r


def partition_result(topic: str, partition: int, src_msgs, dst_msgs, timestamps_kept: int | None = None) -> dict:
    r = {"topic": topic, "partition": partition, **compare(list(src_msgs), list(dst_msgs), ordered=True)}
    if timestamps_kept is not None:
        r["timestamps_kept"] = timestamps_kept
    return r


def contribution(envelopes: Iterable[dict]) -> dict[str, dict[str, int]]:
    """What projecting these events once adds, per tenant, to the counters `firestore_counters` reads (the
    reference app's projection, app/deml/projections.py: events_total, by_type with '.' → '_', by_source, one
    processed marker each, one projection document unless a tenant.tick)."""
    out: dict[str, Counter] = {}
    for e in envelopes:
        c = out.setdefault(e["tenant_id"], Counter())
        c["events_total"] += 1
        c[f"by_type.{e['type'].replace('.', '_')}"] += 1
        c[f"by_source.{e['source']}"] += 1
        c[MARKERS] += 1
        if e["type"] != "tenant.tick":
            c[PROJECTIONS] += 1
    return {t: dict(c) for t, c in out.items()}


def counters_result(from_counts: dict, to_before: dict, to_after: dict, overlap: dict | None = None) -> list[dict]:
    """Per tenant and counter: FROM's value against how much TO's grew while it re-read the copied topics. TO's own
    events from before the switch stay out of it, except the overlap: copied events TO had already processed
    (`overlap`, their `contribution`) must be absorbed by its processed markers, so TO grows by FROM − overlap."""
    overlap = overlap or {}
    rows = []
    for tenant in sorted(set(from_counts) | set(to_after) | set(overlap)):
        f, b, a = from_counts.get(tenant, {}), to_before.get(tenant, {}), to_after.get(tenant, {})
        o = overlap.get(tenant, {})
        for name in sorted(set(f) | set(a) | set(b) | set(o)):
            grew = a.get(name, 0) - b.get(name, 0)
            expected = f.get(name, 0) - o.get(name, 0)
            rows.append({"tenant": tenant, "counter": name, "from": f.get(name, 0), "overlap": o.get(name, 0),
                         "to_before": b.get(name, 0), "to_after": a.get(name, 0), "to_grew": grew,
                         "expected": expected, "ok": grew == expected})
    return rows


def verdict(report: dict) -> dict:
    """Totals over every section and the evidence of each failing item (which table/partition, how many, keys)."""
    items = report.get("postgres", []) + report.get("clickhouse", []) + report.get("topics", [])
    totals = {k: sum(int(i.get(k, 0)) for i in items) for k in ("lost", "duplicated", "changed", "unexpected")}
    totals["reordered"] = sum(1 for i in items if i.get("reordered"))
    evidence = []
    for i in items:
        if i.get("ok"):
            continue
        where = (f"{i['store']} {i['table']}" if "table" in i else f"topic {i['topic']}[{i['partition']}]")
        what = ", ".join(f"{k} {i[k]}" for k in ("lost", "duplicated", "changed", "unexpected") if i.get(k)) \
            or ("reordered" if i.get("reordered") else f"rows {i['from']} → {i['to']}, digests differ")
        evidence.append(f"{where}: FROM {i['from']}, TO {i['to']}: {what}; examples {json.dumps(i.get('examples', {}))}")
    for c in report.get("firestore", []):
        if not c["ok"]:
            evidence.append(f"firestore tenants/{c['tenant']} {c['counter']}: FROM {c['from']}, already on TO "
                            f"{c['overlap']}: TO should grow by {c['expected']}, grew by {c['to_grew']} "
                            f"({c['to_before']} → {c['to_after']})")
    contracts = report.get("contracts")
    if contracts and contracts.get("ran") is not False and not contracts["ok"]:
        evidence.append(f"the contracts on TO did not pass ({contracts['verdict']}): {contracts['violated']} violated"
                        f" of {contracts['total']}, {contracts['skipped']} skipped"
                        + (f": {', '.join(contracts['failed'][:EXAMPLES])}" if contracts.get("failed") else "")
                        + f"; report {contracts['report']}")
    freeze = report.get("freeze", {})
    if freeze.get("writes_after_freeze"):
        evidence.append(f"the freeze did not hold: FROM's topics grew after it: {freeze['writes_after_freeze']}")
    return {"ok": not evidence, **totals, "evidence": evidence}


def render(report: dict) -> str:
    """The report as readable tables (plain text)."""
    lines = [f"migration {report['from']['target']} ({report['from']['project']}) → "
             f"{report['to']['target']} ({report['to']['project']})"]

    def table(title: str, head: list[str], rows: list[list]) -> None:
        if not rows:
            return
        widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        lines.append("")
        lines.append(title)
        for row in [head, ["-" * w for w in widths]] + rows:
            lines.append("  " + "  ".join(str(x).ljust(w) for x, w in zip(row, widths)))

    mark = lambda ok: "ok" if ok else "FAIL"  # noqa: E731
    table("tables (rows, checksum FROM → TO)", ["store", "table", "rows FROM", "rows TO", "checksum FROM", "checksum TO",
                                                "lost", "dup", "changed", ""],
          [[i["store"], i["table"], i["from"], i["to"], i["checksum_from"][:16], i["checksum_to"][:16], i["lost"],
            i["duplicated"], i["changed"], mark(i["ok"])] for i in report.get("postgres", []) + report.get("clickhouse", [])])
    table("topics (copied range; digest of key, value, headers in offset order)",
          ["topic", "part", "msgs FROM", "msgs TO", "digest FROM", "digest TO", "lost", "dup", "reordered", "ts kept", ""],
          [[i["topic"], i["partition"], i["from"], i["to"], i["digest_from"], i["digest_to"], i["lost"], i["duplicated"],
            "yes" if i["reordered"] else "no", i.get("timestamps_kept", "-"), mark(i["ok"])] for i in report.get("topics", [])])
    table("firestore: FROM's counters vs how much TO's grew re-reading the copied topics (overlap: copied events TO "
          "had already processed, to be absorbed)",
          ["tenant", "counter", "FROM", "overlap", "TO before", "TO after", "TO grew", ""],
          [[c["tenant"], c["counter"], c["from"], c["overlap"], c["to_before"], c["to_after"], c["to_grew"],
            mark(c["ok"])]
           for c in report.get("firestore", [])])
    c = report.get("contracts")
    if c and c.get("ran") is False:
        lines.append("")
        lines.append(f"contracts on TO: not run ({c['why']})")
    elif c:
        lines.append("")
        lines.append(f"contracts on TO (`topo gate --attach`, {c['events']} events per fault contract): {c['verdict']}"
                     f", {c['total'] - c['violated'] - c['skipped']} passed, {c['violated']} violated, {c['skipped']} "
                     f"skipped in {c['seconds']} s; report {c['report']}")
    v = report["verdict"]
    lines.append("")
    for k, s in report.get("seconds", {}).items():
        lines.append(f"  {k:<22} {s} s")
    lines.append("")
    lines.append(("PASS" if v["ok"] else "FAIL") + f": lost {v['lost']}, duplicated {v['duplicated']}, changed "
                 f"{v['changed']}, unexpected {v['unexpected']}, reordered partitions {v['reordered']}")
    lines += [f"  {e}" for e in v["evidence"]]
    return "\n".join(lines)


# ---- the running stacks ---------------------------------------------------------------------------------------


@dataclass
class Roles:
    """Which app services write, produce, consume (read from the topology's topics and roles)."""

    producers: list[str]
    consumers: list[str]
    front: list[str]  # app services that neither produce nor consume: the front doors (HTTP API, SSR)

    @classmethod
    def of(cls, topology) -> "Roles":
        apps = [s.name for s in topology.services if s.role == "app"]
        prod = [n for n in apps if any(n in t.producers for t in topology.topics)]
        cons = [n for n in apps if any(n in t.consumers for t in topology.topics) and n not in prod]
        return cls(prod, cons, [n for n in apps if n not in prod and n not in cons])


def _wait(what: str, check: Callable[[], object], timeout: float, say: Say, every: float = 0.5):
    """Poll check() until it returns a falsy 'left' value; report progress every ~10 s; raise naming what was
    seen when the deadline passes."""
    t0 = time.monotonic()
    last_said = t0
    while True:
        left = check()
        if not left:
            return round(time.monotonic() - t0, 2)
        now = time.monotonic()
        if now - t0 > timeout:
            raise TopoError(f"{what}: not reached within {timeout:.0f} s; still: {left}\n"
                            "  hint: check the services' logs (`topo logs SERVICE -p PROJECT`); a larger --timeout")
        if now - last_said > 10:
            say(f"  … {what}: still {left} ({now - t0:.0f} s)")
            last_said = now
        time.sleep(every)


def _compose_services(env, verb: str, services: list[str]) -> None:
    if services:
        env.stack.compose(verb, *services, timeout=120, hint=f"`topo status -p {env.project}`")


def _admin_consumer(env, **extra):
    from confluent_kafka import Consumer

    return Consumer(env.kafka_config(admin=True, **{"group.id": f"topo-migrate-{uuid.uuid4().hex[:8]}",
                                                     "enable.auto.commit": False, **extra}))


def watermarks(env) -> dict[tuple[str, int], tuple[int, int]]:
    """{(topic, partition): (low, high)} of every declared topic."""
    from confluent_kafka import TopicPartition

    c = _admin_consumer(env)
    try:
        out = {}
        for t in env.topology.topics:
            meta = c.list_topics(t.name, timeout=15).topics[t.name]
            if meta.error is not None:
                raise TopoError(f"{env.project}: topic {t.name}: {meta.error}")
            for p in sorted(meta.partitions):
                out[(t.name, p)] = c.get_watermark_offsets(TopicPartition(t.name, p), timeout=15)
        return out
    finally:
        c.close()


def groups_behind(env, highs: dict[tuple[str, int], int]) -> dict:
    """{(group, topic, partition): messages not committed yet} for the consumer groups of the topics' consumers
    (group = consuming service's name, as in the topology's ACLs)."""
    from confluent_kafka import Consumer, TopicPartition

    behind = {}
    for group in sorted({c for t in env.topology.topics for c in t.consumers}):
        parts = [TopicPartition(t.name, p) for t in env.topology.topics if group in t.consumers
                 for (tn, p) in highs if tn == t.name]
        if not parts:
            continue
        c = Consumer(env.kafka_config(admin=True, **{"group.id": group, "enable.auto.commit": False}))
        try:
            for tp in c.committed(parts, timeout=15):
                n = highs[(tp.topic, tp.partition)] - max(tp.offset, 0)
                if n > 0:
                    behind[f"{group} {tp.topic}[{tp.partition}]"] = n
        finally:
            c.close()
    return behind


def outbox_left(env, table: str = "outbox") -> int:
    """Unpublished rows of the transactional outbox (a table `outbox` with `published_at`); 0 without one."""
    with env.postgres() as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
        if exists is None:
            return 0
        return conn.execute(f"SELECT count(*) FROM {table} WHERE published_at IS NULL").fetchone()[0]


def write_acls(topology) -> list:
    """The declared ACLs that let a non-superuser produce to a topic (deleted to freeze, re-created by `topo up`)."""
    from confluent_kafka.admin import AclOperation, ResourceType

    from harness.runtime.bootstrap import acl_bindings

    return [b for b in acl_bindings(topology)
            if b.restype == ResourceType.TOPIC and b.operation in (AclOperation.WRITE, AclOperation.ALL)]


def deny_writes(env) -> int:
    from confluent_kafka.admin import AclBindingFilter

    bindings = write_acls(env.topology)
    if not bindings:
        return 0
    filters = [AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
                                b.permission_type) for b in bindings]
    admin = env.kafka_admin()  # held until the futures resolve: a dropped client destroys its handle (_DESTROY)
    removed = 0
    for _f, fut in admin.delete_acls(filters, request_timeout=30).items():
        removed += len(fut.result(timeout=30))
    return removed


def freeze(env, say: Say, timeout: float) -> dict:
    """Stop every write into FROM (see the module docstring) and wait until what was written is final."""
    roles = Roles.of(env.topology)
    facts: dict = {"how": "front doors stopped; outbox drained; topics' WRITE ACLs of the non-superusers deleted "
                          "(freezes the ingestEvent callable at the broker); producers stopped; consumer groups "
                          "committed to the high watermarks",
                   "stopped": roles.front + roles.producers, "seconds": {}}
    say(f"freeze FROM: stopping the front doors {', '.join(roles.front) or '(none)'}")
    _compose_services(env, "stop", roles.front)
    facts["seconds"]["outbox_drained"] = _wait("FROM's outbox drained (rows not published yet)",
                                               lambda: outbox_left(env), timeout, say)
    facts["acls_deleted"] = deny_writes(env)
    say(f"freeze FROM: deleted {facts['acls_deleted']} WRITE ACL(s); stopping the producers "
        f"{', '.join(roles.producers) or '(none)'}")
    _compose_services(env, "stop", roles.producers)
    marks = watermarks(env)
    highs = {k: hi for k, (_lo, hi) in marks.items()}
    facts["seconds"]["groups_committed"] = _wait("FROM's consumer groups committed up to the high watermarks",
                                                 lambda: groups_behind(env, highs), timeout, say)
    facts["marks"] = marks
    return facts


def quiesce(env, say: Say, timeout: float) -> dict:
    """TO before the restore: no producer, everything it already has projected and committed, apps stopped."""
    roles = Roles.of(env.topology)
    _compose_services(env, "stop", roles.front + roles.producers)
    highs = {k: hi for k, (_lo, hi) in watermarks(env).items()}
    waited = _wait("TO's consumer groups committed up to its own high watermarks", lambda: groups_behind(env, highs),
                   timeout, say)
    _compose_services(env, "stop", roles.consumers)
    return {"stopped": roles.front + roles.producers + roles.consumers, "groups_committed_s": waited}


# ---- Postgres -------------------------------------------------------------------------------------------------


def _service_of_kind(env, k: str):
    from harness.runtime.services import kind

    return next((s for s in env.topology.services if kind(s) == k), None)


def _pg_target(env) -> tuple[str, list[str], dict]:
    """(container id, connection arguments inside the container, environment with PGPASSWORD)."""
    from psycopg.conninfo import conninfo_to_dict

    svc = _service_of_kind(env, "postgres")
    info = conninfo_to_dict(env.endpoints.postgres_dsn)
    cid = env.stack.compose.container_id(svc.name)
    if not cid:
        raise TopoError(f"{env.project}: no running container for {svc.name}; `topo status -p {env.project}`")
    port = svc.ports[0].port if svc.ports else 5432
    args = ["-h", "127.0.0.1", "-p", str(port), "-U", str(info.get("user", "postgres")),
            "-d", str(info.get("dbname", "postgres"))]
    return cid, args, {**os.environ, "PGPASSWORD": env.endpoints.postgres_password}


def _docker_bytes(cmd: list[str], env: dict, data: bytes | None = None, timeout: float = 600) -> bytes:
    try:
        out = subprocess.run(cmd, input=data, capture_output=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CommandError(cmd, -1, "", f"timed out after {timeout} s") from None
    if out.returncode != 0:
        raise CommandError(cmd, out.returncode, "", out.stderr.decode(errors="replace")[-2000:],
                           "is the container running? `topo status -p PROJECT`")
    return out.stdout


def copy_postgres(src, dst) -> dict:
    scid, sargs, senv = _pg_target(src)
    dcid, dargs, denv = _pg_target(dst)
    t0 = time.monotonic()
    dump = _docker_bytes(["docker", "exec", "-e", "PGPASSWORD", scid, "pg_dump", "-Fc", *sargs], senv)
    _docker_bytes(["docker", "exec", "-i", "-e", "PGPASSWORD", dcid, "pg_restore", "--clean", "--if-exists",
                   "--no-owner", "--single-transaction", *dargs], denv, dump)
    return {"dump_bytes": len(dump), "seconds": round(time.monotonic() - t0, 2)}


def snapshot_postgres(env) -> dict[str, dict]:
    """{table: {"rows": [(primary key, md5 of the row)], "checksum": md5 of the sorted row texts}} of every table
    in the public schema, with session settings that make row texts comparable between servers."""
    out = {}
    with env.postgres() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("SET DateStyle = 'ISO, YMD'")
        conn.execute("SET extra_float_digits = 3")
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").fetchall()]
        for table in tables:
            pk = [r[0] for r in conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
                (f"public.{table}",)).fetchall()]
            key = " || '/' || ".join(f't."{c}"::text' for c in pk) if pk else "t::text"
            rows = conn.execute(f'SELECT {key}, md5(t::text) FROM public."{table}" t').fetchall()
            checksum = conn.execute(f"SELECT coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE \"C\")), "
                                    f"'empty') FROM public.\"{table}\" t").fetchone()[0]
            out[table] = {"rows": [(str(k), h) for k, h in rows], "checksum": checksum}
        seqs = conn.execute("SELECT schemaname || '.' || sequencename, coalesce(last_value, 0) FROM pg_sequences "
                            "ORDER BY 1").fetchall()
        out["(sequences)"] = {"rows": [(name, fingerprint(name, v)) for name, v in seqs],
                              "checksum": fingerprint(*[f"{n}={v}" for n, v in seqs])}
    return out


# ---- ClickHouse -----------------------------------------------------------------------------------------------


def _ch(env, sql: str, data: bytes | None = None, stream: bool = False, **settings):
    import requests

    e = env.endpoints
    auth = (e.clickhouse_user, e.clickhouse_password)
    if data is None:
        r = requests.post(e.clickhouse_url, params=settings, data=sql.encode(), auth=auth, timeout=300, stream=stream)
    else:
        r = requests.post(e.clickhouse_url, params={"query": sql, **settings}, data=data, auth=auth, timeout=300)
    if r.status_code != 200:
        raise TopoError(f"{env.project}: ClickHouse answered {r.status_code} to `{sql[:120]}`: {r.text.strip()[:300]}")
    return r


def _ch_rows(env, sql: str) -> list[dict]:
    return [json.loads(line) for line in _ch(env, sql + " FORMAT JSONEachRow").text.splitlines() if line.strip()]


def clickhouse_tables(env) -> dict[str, list[str]]:
    """{database.table: [column, ...]} of the app's tables (every database but the server's own)."""
    rows = _ch_rows(env, "SELECT database, table, name FROM system.columns WHERE database NOT IN "
                         "('system', 'default', 'INFORMATION_SCHEMA', 'information_schema') ORDER BY database, table")
    out: dict[str, list[str]] = {}
    engines = {f"{r['database']}.{r['name']}": r["engine"] for r in _ch_rows(
        env, "SELECT database, name, engine FROM system.tables WHERE database NOT IN "
             "('system', 'default', 'INFORMATION_SCHEMA', 'information_schema')")}
    for r in rows:
        name = f"{r['database']}.{r['table']}"
        if "MergeTree" in engines.get(name, ""):  # tables that hold data (not views)
            out.setdefault(name, []).append(r["name"])
    return out


def _ch_truncate(env, table: str) -> None:
    try:
        _ch(env, f"TRUNCATE TABLE {table}")
    except TopoError:  # an old server without TRUNCATE for MergeTree: drop its partitions
        db, name = table.split(".", 1)
        for p in _ch_rows(env, f"SELECT DISTINCT partition FROM system.parts WHERE database = '{db}' "
                               f"AND table = '{name}' AND active"):
            _ch(env, f"ALTER TABLE {table} DROP PARTITION {p['partition']}")


def copy_clickhouse(src, dst, batch: int = 20000) -> dict:
    t0 = time.monotonic()
    tables = clickhouse_tables(src)
    missing = sorted(set(tables) - set(clickhouse_tables(dst)))
    if missing:
        raise TopoError(f"{dst.project}: ClickHouse has no table {', '.join(missing)}; TO must be bootstrapped with "
                        "the same schema (`topo up` applies the topology's bootstrap SQL)")
    moved = {}
    for table in tables:
        _ch_truncate(dst, table)
        n, chunk = 0, []
        # 64-bit integers as JSON numbers: what every server's JSONEachRow input reads back
        r = _ch(src, f"SELECT * FROM {table} FORMAT JSONEachRow", stream=True,
                output_format_json_quote_64bit_integers=0)
        for line in r.iter_lines():
            if line:
                chunk.append(line)
            if len(chunk) >= batch:
                _ch(dst, f"INSERT INTO {table} FORMAT JSONEachRow", b"\n".join(chunk))
                n, chunk = n + len(chunk), []
        if chunk:
            _ch(dst, f"INSERT INTO {table} FORMAT JSONEachRow", b"\n".join(chunk))
            n += len(chunk)
        moved[table] = n
    return {"rows": moved, "seconds": round(time.monotonic() - t0, 2)}


def snapshot_clickhouse(env, tables: dict[str, list[str]] | None = None) -> dict[str, dict]:
    """{table: {"rows": [(first column, cityHash64 of the row)], "checksum": "count/sum of the hashes"}}. A table
    of the Replacing/Collapsing family is read FINAL, as its queries see it: a background merge may collapse its
    duplicates at any moment on either side, so raw rows are moved but not compared."""
    engines = {f"{r['database']}.{r['name']}": r["engine"] for r in _ch_rows(
        env, "SELECT database, name, engine FROM system.tables WHERE database NOT IN "
             "('system', 'default', 'INFORMATION_SCHEMA', 'information_schema')")}
    out = {}
    for table, cols in (tables or clickhouse_tables(env)).items():
        final = " FINAL" if any(k in engines.get(table, "") for k in ("Replacing", "Collapsing")) else ""
        args = ", ".join(f"`{c}`" for c in cols)
        total = _ch_rows(env, f"SELECT count() AS n, toString(sum(cityHash64({args}))) AS h FROM {table}{final}")[0]
        rows = _ch_rows(env, f"SELECT toString(`{cols[0]}`) AS k, toString(cityHash64({args})) AS h "
                             f"FROM {table}{final}")
        out[table] = {"rows": [(r["k"], r["h"]) for r in rows], "checksum": f"{total['n']}/{total['h']}",
                      "final": bool(final)}
    return out


# ---- topics ---------------------------------------------------------------------------------------------------


def read_range(env, topic: str, partition: int, start: int, end: int, timeout: float, say: Say,
               on_message=None) -> list[tuple[str, str]]:
    """(key, fingerprint) of every message of one partition in [start, end), in offset order."""
    from confluent_kafka import TopicPartition

    got: list[tuple[str, str]] = []
    if end <= start:
        return got
    c = _admin_consumer(env, **{"enable.partition.eof": False})
    try:
        c.assign([TopicPartition(topic, partition, start)])
        pos = start - 1
        deadline = time.monotonic() + timeout
        while pos + 1 < end:
            if time.monotonic() > deadline:
                raise TopoError(f"{env.project}: {topic}[{partition}]: read only up to offset {pos + 1} of "
                                f"[{start}, {end}) within {timeout:.0f} s")
            for msg in c.consume(500, 1.0):
                if msg.error() or msg.offset() >= end:
                    continue
                pos = max(pos, msg.offset())
                got.append((message_id(msg.key(), msg.value()), message_fingerprint(msg.key(), msg.value(),
                                                                                    msg.headers())))
                if on_message is not None:
                    on_message(msg)
            # offsets without a message (transaction markers, compaction) still move the position past them
            pos = max(pos, c.position([TopicPartition(topic, partition)])[0].offset - 1)
        return got
    finally:
        c.close()


def copy_topics(src, dst, src_marks: dict, say: Say, timeout: float) -> dict:
    """Copy every declared topic's [low, high) of FROM to the end of TO's same partitions; read TO back."""
    from confluent_kafka import TIMESTAMP_CREATE_TIME, Producer

    dst_before = watermarks(dst)
    for (topic, p) in src_marks:
        if (topic, p) not in dst_before:
            raise TopoError(f"{dst.project}: topic {topic} has no partition {p}; TO must declare the same topics "
                            "and partitions (`topo up` creates them)")
    producer = Producer(dst.kafka_config(admin=True, **{"enable.idempotence": True, "acks": "all",
                                                        "linger.ms": 20, "compression.type": "none"}))
    errors: list[str] = []

    def delivered(err, _msg) -> None:
        if err is not None:
            errors.append(str(err))

    t0 = time.monotonic()
    src_msgs, sent = {}, 0
    stamps: dict = {}
    envelopes: dict[str, dict] = {}  # event_id → (tenant_id, type, source) of each distinct copied event
    for (topic, p), (lo, hi) in sorted(src_marks.items()):
        stamps[(topic, p)] = []

        def forward(msg, topic=topic, p=p) -> None:
            try:
                env = json.loads(msg.value() or b"null")
                envelopes.setdefault(env["event_id"], {k: env[k] for k in ("tenant_id", "type", "source")})
            except (ValueError, TypeError, KeyError):
                pass  # not an envelope: copied and compared all the same, outside the Firestore check
            kind, ts = msg.timestamp()
            stamps[(topic, p)].append(ts if kind == TIMESTAMP_CREATE_TIME else None)
            kwargs = {"timestamp": ts} if kind == TIMESTAMP_CREATE_TIME else {}
            for _ in range(100):
                try:
                    producer.produce(topic, value=msg.value(), key=msg.key(), partition=p, headers=msg.headers(),
                                     on_delivery=delivered, **kwargs)
                    break
                except BufferError:
                    producer.poll(0.2)
            producer.poll(0)

        src_msgs[(topic, p)] = read_range(src, topic, p, lo, hi, timeout, say, forward)
        sent += len(src_msgs[(topic, p)])
        if src_msgs[(topic, p)]:
            say(f"  {topic}[{p}]: {len(src_msgs[(topic, p)])} message(s) read and produced")
    left = producer.flush(timeout)
    if left or errors:
        raise TopoError(f"{dst.project}: {left} message(s) not acknowledged by TO's broker, {len(errors)} delivery "
                        f"error(s) (first: {errors[:1]})")
    copy_s = round(time.monotonic() - t0, 2)
    dst_after = watermarks(dst)
    results = []
    for (topic, p) in sorted(src_marks):
        start, end = dst_before[(topic, p)][1], dst_after[(topic, p)][1]
        dst_stamps: list = []

        def keep_ts(msg, acc=dst_stamps) -> None:
            acc.append(msg.timestamp()[1])

        dst_msgs = read_range(dst, topic, p, start, end, timeout, say, keep_ts)
        kept = sum(1 for a, b in zip(stamps[(topic, p)], dst_stamps) if a is not None and a == b)
        r = partition_result(topic, p, src_msgs[(topic, p)], dst_msgs, kept)
        r.update({"from_range": list(src_marks[(topic, p)]), "to_range": [start, end],
                  "to_own_before": start - dst_before[(topic, p)][0]})
        results.append(r)
    return {"partitions": results, "messages": sent, "seconds": copy_s, "envelopes": envelopes,
            "tenants": sorted({e["tenant_id"] for e in envelopes.values()})}


# ---- Firestore ------------------------------------------------------------------------------------------------


def _flatten(value: dict, prefix: str = "") -> dict[str, int]:
    out = {}
    for k, v in value.get("fields", {}).items():
        if "mapValue" in v:
            out.update(_flatten(v["mapValue"], f"{prefix}{k}."))
        elif "integerValue" in v:
            out[prefix + k] = int(v["integerValue"])
    return out


def firestore_counters(env, tenants: Iterable[str]) -> dict[str, dict[str, int]]:
    """Per tenant: the projection counters (tenants/T/stats/counters, flattened), the processed markers and the
    event projections (counted)."""
    from harness import clients

    e = env.endpoints
    out = {}
    for t in sorted(set(tenants)):
        doc = clients.firestore_doc(e.firestore_host, e.firebase_project, f"tenants/{t}/stats/counters") or {}
        row = _flatten(doc)
        row[MARKERS] = clients.firestore_count(e.firestore_host, e.firebase_project, f"tenants/{t}", "processed")
        row[PROJECTIONS] = clients.firestore_count(e.firestore_host, e.firebase_project, f"tenants/{t}", "events")
        out[t] = row
    return out


def processed_ids(env, tenant: str, max_pages: int = 500) -> set[str]:
    """Event ids with a processed marker under tenants/TENANT/processed (paged list, bounded)."""
    import requests

    e = env.endpoints
    url = (f"http://{e.firestore_host}/v1/projects/{e.firebase_project}/databases/(default)/documents/"
           f"tenants/{tenant}/processed")
    ids: set[str] = set()
    token = ""
    for _ in range(max_pages):
        params = {"pageSize": 1000, "mask.fieldPaths": "event_id", **({"pageToken": token} if token else {})}
        r = requests.get(url, params=params, headers={"Authorization": "Bearer owner"}, timeout=60)
        if r.status_code != 200:
            raise TopoError(f"{env.project}: listing tenants/{tenant}/processed: {r.status_code} {r.text[:200]}")
        body = r.json()
        ids.update(d["name"].rsplit("/", 1)[-1] for d in body.get("documents", []))
        token = body.get("nextPageToken", "")
        if not token:
            return ids
    raise TopoError(f"{env.project}: tenants/{tenant}/processed has more than {max_pages} pages of markers")


# ---- the whole switch -----------------------------------------------------------------------------------------


def migrate(src, dst, say: Say = print, timeout: float = 180.0) -> dict:
    """Freeze FROM, move Postgres, ClickHouse and the topics to TO, rebuild TO's projections, switch; return the
    data equivalence report (a dict; `report["verdict"]["ok"]`). `src`/`dst`: harness.testing Environments of
    running stacks of the same topology. Raises TopoError when a step cannot be done (not for a difference:
    differences are the report's verdict)."""
    if [t.name for t in src.topology.topics] != [t.name for t in dst.topology.topics]:
        raise TopoError(f"{src.project} and {dst.project} declare different topics: migrate between stacks of the "
                        "same topology")
    seconds: dict[str, float] = {}
    t_start = time.monotonic()
    tenants = [t.id for t in src.topology.tenants]
    say(f"migrate {src.target} ({src.project}) → {dst.target} ({dst.project})")
    say("quiescing TO (its producers stopped, its own events committed, apps stopped)")
    to_facts = quiesce(dst, say, timeout)
    t_freeze = time.monotonic()  # the write downtime starts with the first front door stopped on FROM
    frozen = freeze(src, say, timeout)
    seconds["freeze"] = round(time.monotonic() - t_freeze, 2)
    from_counts = firestore_counters(src, tenants)

    say("postgres: pg_dump in FROM's container → pg_restore --clean in TO's")
    pg_copy = copy_postgres(src, dst)
    seconds["postgres"] = pg_copy["seconds"]
    say("clickhouse: JSONEachRow from FROM → INSERT into TO (TO's tables truncated first)")
    tables = clickhouse_tables(src)
    ch_copy = copy_clickhouse(src, dst)
    seconds["clickhouse"] = ch_copy["seconds"]
    say("topics: partition by partition, low → high watermark, same partition/key/headers/timestamp")
    topics = copy_topics(src, dst, frozen["marks"], say, timeout)
    seconds["topics"] = topics["seconds"]

    say("comparing tables")
    pg_from, pg_to = snapshot_postgres(src), snapshot_postgres(dst)
    postgres = [table_result("postgres", t, pg_from[t]["rows"], pg_to.get(t, {"rows": []})["rows"],
                             pg_from[t]["checksum"], pg_to.get(t, {}).get("checksum", "(missing)"))
                for t in sorted(set(pg_from) | set(pg_to)) if t in pg_from]
    ch_from, ch_to = snapshot_clickhouse(src, tables), snapshot_clickhouse(dst, tables)
    clickhouse = [table_result("clickhouse", t, ch_from[t]["rows"], ch_to[t]["rows"], ch_from[t]["checksum"],
                               ch_to[t]["checksum"]) for t in sorted(ch_from)]
    still = watermarks(src)
    grew = {f"{t}[{p}]": still[(t, p)][1] - hi for (t, p), (_lo, hi) in frozen["marks"].items()
            if still[(t, p)][1] != hi}

    all_tenants = sorted(set(tenants) | set(topics["tenants"]))
    if len(all_tenants) > len(tenants):
        from_counts = firestore_counters(src, all_tenants)
    to_before = firestore_counters(dst, all_tenants)
    done = {t: processed_ids(dst, t) for t in {e["tenant_id"] for e in topics["envelopes"].values()}}
    already = [e for eid, e in topics["envelopes"].items() if eid in done[e["tenant_id"]]]
    overlap = contribution(already)
    roles = Roles.of(dst.topology)
    say(f"TO: starting the consumers {', '.join(roles.consumers)}: projections rebuilt from the copied topics")
    t0 = time.monotonic()
    _compose_services(dst, "start", roles.consumers)
    highs = {k: hi for k, (_lo, hi) in watermarks(dst).items()}
    _wait("TO's consumer groups committed up to the copied messages", lambda: groups_behind(dst, highs), timeout, say)
    seconds["rebuild_projections"] = round(time.monotonic() - t0, 2)
    to_after = firestore_counters(dst, all_tenants)
    say(f"TO: starting {', '.join(roles.producers + roles.front)}")
    _compose_services(dst, "start", roles.producers + roles.front)
    for name in roles.producers + roles.front:
        dst.stack.wait_healthy(name, timeout)
    seconds["write_downtime"] = round(time.monotonic() - t_freeze, 2)
    seconds["total"] = round(time.monotonic() - t_start, 2)

    report = {
        "from": {"target": src.target, "project": src.project},
        "to": {"target": dst.target, "project": dst.project},
        "freeze": {"how": frozen["how"], "stopped": frozen["stopped"], "acls_deleted": frozen["acls_deleted"],
                   "waited_s": frozen["seconds"], "writes_after_freeze": grew,
                   "undo": f"topo up --target {src.target} -p {src.project}"},
        "to_prepared": to_facts,
        "postgres_copy": pg_copy, "clickhouse_copy": ch_copy,
        "topics_copy": {"messages": topics["messages"], "seconds": topics["seconds"]},
        "postgres": postgres, "clickhouse": clickhouse, "topics": topics["partitions"],
        "firestore": counters_result(from_counts, to_before, to_after, overlap),
        "firestore_overlap": {"copied_events": len(topics["envelopes"]), "already_on_to": len(already)},
        "seconds": seconds,
    }
    report["verdict"] = verdict(report)
    return report


def run_contracts(topology_file, env, events: int, report_dir: Path, say: Say, timeout: float = 3600.0) -> dict:
    """The contract gate on TO after the switch (`topo gate --target TO --attach PROJECT`): TO must keep every
    promise FROM kept. Returns what report["contracts"] holds: ok only when every contract ran and held (a PARTIAL
    gate is not a pass). The gate's output goes to REPORT_DIR/migrate-contracts-PROJECT/gate.log as it runs."""
    import sys

    folder = report_dir / f"migrate-contracts-{env.project}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "contracts.json").unlink(missing_ok=True)  # never judge this gate by an earlier one's report
    log_file = folder / "gate.log"
    cmd = [sys.executable, "-m", "harness.cli", "gate", "--file", str(Path(topology_file).resolve()), "--target",
           env.target, "--attach", env.project, "--events", str(events), "--report-dir", str(folder),
           "--skip-render-check", "--allow-partial"]
    say(f"contracts on TO: topo gate --target {env.target} --attach {env.project} --events {events} "
        f"(progress in {log_file})")
    t0 = time.monotonic()
    base = {"events": events, "report": str(folder / "contracts.md"), "log": str(log_file), "failed": [],
            "total": 0, "violated": 0, "skipped": 0}
    with open(log_file, "w") as out:
        try:
            code = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = None
    seconds = round(time.monotonic() - t0, 1)
    tail = "\n".join(log_file.read_text(errors="replace").strip().splitlines()[-15:])
    try:
        data = json.loads((folder / "contracts.json").read_text())
    except (OSError, json.JSONDecodeError):
        data = None
    if code is None or data is None:
        why = f"timed out after {timeout:.0f} s" if code is None else f"wrote no report (exit {code})"
        say(f"  the gate on TO {why}; its last lines:\n{tail}")
        return {**base, "ok": False, "verdict": f"FAILED ({why})", "seconds": seconds, "exit": code, "tail": tail}
    failed = [f"{c['area']}::{c['name']}" for c in data["contracts"] if c["verdict"] == "FAIL"]
    skipped = data.get("skipped", 0)
    word = "FAILED" if code or data["violated"] else ("PARTIAL" if skipped else "PASS")
    say(f"  contracts on TO: {word}: {data['total'] - data['violated'] - skipped} passed, {data['violated']} "
        f"violated, {skipped} skipped in {seconds} s")
    return {**base, "ok": word == "PASS", "verdict": word, "total": data["total"], "violated": data["violated"],
            "skipped": skipped, "failed": failed, "seconds": seconds, "exit": code}


NOT_RUN = {"ran": False, "why": "--no-contracts"}


def write_report(report: dict, folder: Path) -> tuple[Path, Path]:
    """reports/migrate-FROM-TO.json (without the per-row lists) and .txt (the readable tables)."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"migrate-{report['from']['project']}-{report['to']['project']}"
    js, txt = folder / f"{stem}.json", folder / f"{stem}.txt"
    js.write_text(json.dumps(report, indent=2, default=str) + "\n")
    txt.write_text(render(report) + "\n")
    return js, txt


# ---- naming running stacks (the CLI) ---------------------------------------------------------------------------


def attach(topology_file: Path, target: str, project: str):
    """An Environment for a stack that already runs (harness.testing.attach)."""
    from harness.testing import attach as attach_running

    return attach_running(topology_file, target=target, project=project)


# ---- a rehearsal with load --------------------------------------------------------------------------------------


@dataclass
class Load:
    ingested: int = 0
    actions: int = 0
    resent: int = 0
    failed: dict = field(default_factory=dict)
    seconds: float = 0.0


def load(env, events: int, say: Say, resend_every: int = 20, workers: int = 8, deadline_s: float | None = None) -> Load:
    """Load FROM like its users do: 4 of 5 events through the ingestEvent callable (every `resend_every`-th sent
    twice with the same event_id: a client's retry, a duplicate in the topic the worker must absorb), 1 of 5 as a
    backend action (domain row + outbox row → relay → topic). Tenants in turn, Tenant0 included. Bounded in time:
    `deadline_s`, by default 120 s + 0.2 s per event (5 events/s at least; ~25/s measured on 2 busy cores)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    tenants = [t.id for t in env.topology.tenants]
    tokens = {t: env.sign_in(t).id_token for t in tenants}
    result, lock, local = Load(), threading.Lock(), threading.local()
    stop_at = time.monotonic() + (deadline_s if deadline_s is not None else 120.0 + 0.2 * events)

    def session() -> requests.Session:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        return local.s

    def fail(why: str) -> None:
        with lock:
            result.failed[why] = result.failed.get(why, 0) + 1

    def post(url: str, body: dict, token: str, ok: int) -> bool:
        for attempt in range(8):
            if time.monotonic() > stop_at:
                fail("deadline")
                return False
            try:
                r = session().post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
                if r.status_code == ok:
                    return True
                if r.status_code not in (500, 502, 503):
                    fail(f"HTTP {r.status_code}")
                    return False
            except requests.RequestException:
                pass
            time.sleep(0.2 * (attempt + 1))
        fail("retries exhausted")
        return False

    e = env.endpoints
    ingest_url = f"{e.functions_url}/{e.firebase_project}/us-central1/ingestEvent"

    def one(i: int) -> None:
        tenant = tenants[i % len(tenants)]
        if i % 5 == 4:
            if post(f"{e.backend_url}/api/tenants/{tenant}/actions",
                    {"aggregate_id": f"migrate-{i % 13}", "kind": "migrate.action", "payload": {"i": i}},
                    tokens[tenant], 201):
                with lock:
                    result.actions += 1
            return
        data = {"data": {"event_id": str(uuid.uuid4()), "type": "page.view", "payload": {"path": f"/m/{i}", "i": i}}}
        times = 2 if i % resend_every == 0 else 1
        for n in range(times):
            if post(ingest_url, data, tokens[tenant], 200):
                with lock:
                    if n == 0:
                        result.ingested += 1
                    else:
                        result.resent += 1

    t0 = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        for k, _ in enumerate(pool.map(one, range(events)), 1):
            if k % max(1, events // 5) == 0:
                say(f"  load: {k}/{events} sent ({time.monotonic() - t0:.0f} s)")
    result.seconds = round(time.monotonic() - t0, 2)
    return result


def summary(report: dict, loaded: Load | None = None) -> dict:
    """The numbers a rehearsal prints: moved per second, write downtime."""
    s = report["seconds"]
    moved = report["topics_copy"]["messages"]
    rows = sum(i["from"] for i in report["postgres"] + report["clickhouse"])
    copy_s = s.get("postgres", 0) + s.get("clickhouse", 0) + s.get("topics", 0)
    out = {"ok": report["verdict"]["ok"], "messages_copied": moved, "rows_copied": rows,
           "messages_per_s": round(moved / s["topics"], 1) if s.get("topics") else None,
           "copy_s": round(copy_s, 2), "write_downtime_s": s.get("write_downtime"), "total_s": s.get("total")}
    c = report.get("contracts")
    if c:
        out["contracts_on_to"] = ({"verdict": "not run"} if c.get("ran") is False else
                                  {k: c[k] for k in ("verdict", "total", "violated", "skipped", "seconds")})
    if loaded is not None:
        out["loaded"] = asdict(loaded)
        out["events_per_s_moved"] = round((loaded.ingested + loaded.actions) / s["write_downtime"], 1) \
            if s.get("write_downtime") else None
    return out


def rehearse(topology_file, source: str, target: str, events: int, say: Say = print, keep: bool = False,
             timeout: float = 180.0, deadline: float = 300.0, contract_events: int | None = 200,
             report_dir: Path = Path("reports")) -> tuple[dict, dict]:
    """The whole switch on two ephemeral stacks (own projects, disjoint shifted ports): both brought up at once,
    `events` loaded into FROM, `migrate`, the contract gate on TO (`contract_events` per fault contract; None: no
    contracts), both torn down (logs kept when something raised or failed; `keep` leaves them running). Returns
    (report, summary)."""
    from concurrent.futures import ThreadPoolExecutor

    from harness.runtime.stack import free_port_offset
    from harness.testing import images_missing, load_topology, prepare

    topology = load_topology(topology_file)
    missing = images_missing(topology)
    if missing:
        raise TopoError(f"images not in the local engine: {', '.join(missing)}; build them with `topo images build`")
    # the two shifted ranges must not overlap at all: a host publishes ports of its own inside the declared range
    # (railway-emulation's edge: 8443, 8088)
    ports = [p.port for s in topology.services for p in s.ports if p.publish]
    span = max(ports) - min(ports) + 100
    off_a = free_port_offset(topology)
    for _ in range(100):
        off_b = free_port_offset(topology)
        if abs(off_a - off_b) > span:
            break
    else:
        raise TopoError("no second free range of ports found on 127.0.0.1 for the TO stack")
    a = prepare(topology_file, target=source, project=f"{topology.project}-mig-from-{uuid.uuid4().hex[:4]}",
                port_offset=off_a)
    b = prepare(topology_file, target=target, project=f"{topology.project}-mig-to-{uuid.uuid4().hex[:4]}",
                port_offset=off_b)
    failed = True
    try:
        _ = a.stack.secrets, b.stack.secrets  # written once, before the two bring-ups run at the same time
        say(f"bringing up FROM {source} ({a.project}) and TO {target} ({b.project}) at once")
        t0 = time.monotonic()

        def up(env):
            env.up(deadline=deadline)
            say(f"  {env.target} ({env.project}) healthy after {time.monotonic() - t0:.0f} s")

        with ThreadPoolExecutor(2) as pool:
            for fut in [pool.submit(up, a), pool.submit(up, b)]:
                fut.result()
        up_s = round(time.monotonic() - t0, 1)
        say(f"loading {events} events into FROM")
        loaded = load(a, events, say)
        say(f"  loaded: {loaded.ingested} through ingestEvent (+{loaded.resent} resent), {loaded.actions} backend "
            f"actions in {loaded.seconds} s" + (f"; failed {loaded.failed}" if loaded.failed else ""))
        report = migrate(a, b, say, timeout)
        report["seconds"]["up_both"] = up_s
        if contract_events is not None:
            report["contracts"] = run_contracts(topology_file, b, contract_events, report_dir, say)
            report["seconds"]["contracts_on_to"] = report["contracts"]["seconds"]
            report["verdict"] = verdict(report)
        else:
            report["contracts"] = dict(NOT_RUN)
        failed = not report["verdict"]["ok"]
        return report, summary(report, loaded)
    finally:
        for env in (a, b):
            try:
                env.close(failed=failed, keep=keep)
            except Exception as exc:  # noqa: BLE001 — teardown must not hide the migration's own error
                say(f"teardown of {env.project} failed: {exc}")
