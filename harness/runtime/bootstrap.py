"""Bootstrap a running stack, idempotently: SASL users, topics with partitions, SQL schemas, tenant rows
(Tenant0 first, like every other tenant), and the tenants' documents in Firestore. Running it twice is harmless.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import requests

from harness.errors import TopoError
from harness.runtime.services import Access, kind


def _split_sql(text: str) -> list[str]:
    text = re.sub(r"--[^\n]*", "", text)
    return [s.strip() for s in text.split(";") if s.strip()]


def kafka(access: Access, say: Callable[[str], None]) -> None:
    from confluent_kafka.admin import (
        AdminClient, NewPartitions, NewTopic, ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion,
    )

    t = access.topology
    broker = next((s for s in t.services if kind(s) == "kafka"), None)
    if broker is None:
        return
    probe = access.probes(broker, lambda: "")[0]  # the readiness probe's client: the superuser over SASL
    admin = AdminClient({**probe.config(), "log_level": 3})
    mechanism = ScramMechanism.SCRAM_SHA_256 if t.kafka_mechanism.endswith("256") else ScramMechanism.SCRAM_SHA_512
    # ACLs first, users last: an app container that authenticates the moment its user exists must find its ACLs
    # there, or its idempotent producer's InitProducerId is refused and librdkafka makes that error fatal.
    acls(admin, t, say)
    upserts = [UserScramCredentialUpsertion(u.name, ScramCredentialInfo(mechanism, 4096),
                                            access.secrets[u.password_secret].encode())
               for u in t.kafka_users if not u.superuser]
    if upserts:
        for user, future in admin.alter_user_scram_credentials(upserts).items():
            future.result(timeout=30)
        say(f"SASL users: {', '.join(u.user for u in upserts)} ({t.kafka_mechanism})")
    existing = admin.list_topics(timeout=10).topics
    new = [NewTopic(tp.name, num_partitions=tp.partitions, replication_factor=tp.replication)
           for tp in t.topics if tp.name not in existing]
    if new:
        for name, future in admin.create_topics(new, operation_timeout=30).items():
            future.result(timeout=30)
    grow = [NewPartitions(tp.name, tp.partitions) for tp in t.topics
            if tp.name in existing and len(existing[tp.name].partitions) < tp.partitions]
    if grow:
        for name, future in admin.create_partitions(grow).items():
            future.result(timeout=30)
    say("topics: " + ", ".join(f"{tp.name} ({tp.partitions} partitions)" for tp in t.topics)
        + (f" — created {', '.join(n.topic for n in new)}" if new else " — already there"))


def acl_bindings(t) -> list:
    """The topology's ACLs as confluent-kafka AclBindings (allow rules for each non-superuser, any host)."""
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    types = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP, "cluster": ResourceType.BROKER,
             "transactional_id": ResourceType.TRANSACTIONAL_ID}
    patterns = {"literal": ResourcePatternType.LITERAL, "prefixed": ResourcePatternType.PREFIXED}
    out = []
    for u in t.kafka_users:
        for a in u.acls:
            for op in a.operations:
                out.append(AclBinding(types[a.resource], a.name or "kafka-cluster", patterns[a.pattern],
                                      f"User:{u.name}", "*", AclOperation[op.upper()], AclPermissionType.ALLOW))
    return out


def acls(admin, t, say: Callable[[str], None]) -> None:
    """Least privilege: create exactly the declared ACLs for each non-superuser, and delete any other ACL that
    names them (a privilege removed from topology.yaml is removed from the broker on the next `topo up`)."""
    from confluent_kafka.admin import (
        AclBindingFilter, AclOperation, AclPermissionType, ResourcePatternType, ResourceType,
    )

    wanted = acl_bindings(t)
    if wanted:
        for _binding, future in admin.create_acls(wanted, request_timeout=30).items():
            future.result(timeout=30)
    removed = 0
    for u in (u for u in t.kafka_users if not u.superuser):
        found = admin.describe_acls(AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, f"User:{u.name}",
                                                     None, AclOperation.ANY, AclPermissionType.ANY),
                                    request_timeout=30).result(timeout=30)
        extra = [b for b in found if b not in wanted]
        if extra:
            for _f, future in admin.delete_acls(extra, request_timeout=30).items():
                removed += len(future.result(timeout=30))
    say(f"ACLs: {len(wanted)} allow rule(s) for " + ", ".join(f"{u.name} ({len(u.acls)} resource(s))" for u in t.kafka_users
                                                           if not u.superuser)
        + (f"; removed {removed} undeclared" if removed else "") + "; everything else is denied")


def sql(access: Access, root: Path, say: Callable[[str], None]) -> None:
    t = access.topology
    for svc_name, files in t.bootstrap.items():
        service = t.service(svc_name)
        k = kind(service)
        statements = [(f, stmt) for f in files for stmt in _split_sql((root / f).read_text())]
        if k == "postgres":
            import psycopg

            probe = access.probes(service, lambda: "")[0]
            with psycopg.connect(probe.dsn, password=probe.password, connect_timeout=5) as conn:
                for _f, stmt in statements:
                    conn.execute(stmt)
                tenants = [(x.id, x.name) for x in t.tenants]
                with conn.cursor() as cur:
                    cur.executemany("INSERT INTO tenants (id, name) VALUES (%s, %s) "
                                    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name", tenants)
            say(f"postgres: {len(statements)} statement(s) from {', '.join(files)}; tenants "
                + ", ".join(x.id for x in t.tenants))
        elif k == "clickhouse":
            probe = access.probes(service, lambda: "")[0]
            for f, stmt in statements:
                r = requests.post(probe.url, data=stmt, auth=(probe.user, probe.password), timeout=30)
                if r.status_code != 200:
                    raise TopoError(f"bootstrap of {svc_name} failed on {f}: {r.text.strip()[:300]}")
            say(f"clickhouse: {len(statements)} statement(s) from {', '.join(files)}")
        else:
            raise TopoError(f"bootstrap.{svc_name}: topo applies SQL to postgres and clickhouse services only")


def firebase(access: Access, say: Callable[[str], None]) -> None:
    t = access.topology
    fb = next((s for s in t.services if kind(s) == "firebase"), None)
    if fb is None or not access.host_port(fb, "firestore"):
        return
    project = dict(fb.env).get("FIREBASE_PROJECT", "demo-topo")
    base = (f"http://127.0.0.1:{access.host_port(fb, 'firestore')}/v1/projects/{project}/databases/(default)/documents")
    for tenant in t.tenants:
        r = requests.patch(f"{base}/tenants/{tenant.id}", headers={"Authorization": "Bearer owner"}, timeout=10,
                           json={"fields": {"name": {"stringValue": tenant.name}, "id": {"stringValue": tenant.id}}})
        if r.status_code != 200:
            raise TopoError(f"bootstrap of firebase failed: {r.status_code} {r.text[:200]}")
    say(f"firebase: project {project} (demo project: no cloud resources), tenant documents "
        + ", ".join(x.id for x in t.tenants))


def run_all(access: Access, root: Path, say: Callable[[str], None]) -> None:
    for step in (lambda: kafka(access, say), lambda: sql(access, root, say), lambda: firebase(access, say)):
        try:
            step()
        except TopoError:
            raise
        except Exception as exc:  # noqa: BLE001 — a located, readable failure instead of a traceback
            raise TopoError(f"bootstrap failed: {type(exc).__name__}: {str(exc)[:400]}\n"
                            "  hint: `topo status` and `topo logs SERVICE`; `topo up` again is safe (idempotent)") from exc
