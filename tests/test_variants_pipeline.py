"""The pipeline contracts can fail: each runs against a deliberately broken variant of the app or the schema and
catches it for the right reason (the message names what went wrong and in which direction), then passes again
on the reference (the control).

Variants switched on per container through DEML_FAULTS (never set by a rendered topology, see app/deml/faults.py):
  backend_outbox_apart      the outbox row commits in its own transaction (a dual write)
  worker_tenant0_uncounted  the worker never updates the platform tenant's counters (a Tenant0 special case)
  worker_skip_marker_check  the worker projects without its processed markers
and one made in ClickHouse itself: deml.events as a plain MergeTree (no deduplication by event_id)."""
from __future__ import annotations

import pytest
import requests

from contracts.test_idempotency_faults import check_cache_flush_absorbed
from contracts.test_olap_consistency import check_events_table_deduplicates
from contracts.test_outbox import check_committed_action_yields_one_event, check_rolled_back_action_yields_nothing
from contracts.test_tenant_symmetry import check_tenants_symmetric
from harness import clients

pytestmark = pytest.mark.docker


def ddl(e, sql: str) -> None:
    r = requests.post(e.clickhouse_url, data=sql, auth=(e.clickhouse_user, e.clickhouse_password), timeout=30)
    assert r.status_code == 200, f"ClickHouse refused {sql!r}: {r.text[:300]}"


@pytest.fixture(scope="module")
def acme_token(topo_endpoints) -> str:
    return clients.sign_in(topo_endpoints.auth_host, topo_endpoints.firebase_project, "acme").id_token


@pytest.fixture()
def variant(topo_stack):
    """variant(service, faults): recreate the service with DEML_FAULTS; always restored after the test."""
    changed: list[str] = []

    def switch(service: str, faults: str) -> None:
        topo_stack.set_env(service, {"DEML_FAULTS": faults})
        changed.append(service)

    yield switch
    for service in changed:
        topo_stack.set_env(service, {})


@pytest.mark.catches("contracts/test_outbox.py",
                     variant="backend commits the outbox row apart from the action (dual write)")
def test_outbox_written_apart_from_the_action_is_caught(topo_stack, topo_endpoints, acme_token, variant):
    """Broken variant: the outbox row is committed before (and apart from) the domain row. A rolled-back action
    then still yields an event: the outbox contract must see the row and the message."""
    variant("backend", "backend_outbox_apart")
    with pytest.raises(AssertionError, match=r"a rolled-back action left 1 outbox rows and 0 domain rows, and 1 "):
        check_rolled_back_action_yields_nothing(topo_endpoints)


def test_outbox_control_passes(topo_endpoints, acme_token):
    """The control: the reference backend passes both outbox checks."""
    assert check_rolled_back_action_yields_nothing(topo_endpoints)["messages_read"] >= 0
    assert check_committed_action_yields_one_event(topo_endpoints, acme_token)["event_id"]


@pytest.mark.catches("contracts/test_tenant_symmetry.py",
                     variant="worker never updates Tenant0's counters")
def test_a_tenant0_special_case_is_caught(topo_stack, topo_endpoints, variant):
    """Broken variant: Tenant0's counters never move. Its projections are still equal to every other tenant's,
    so only the comparison of counters can catch it — and must, naming the tenant and the counters."""
    tenants = [t.id for t in topo_stack.topology.tenants]
    assert tenants[0] == "tenant0" and len(tenants) >= 2
    variant("telemetry-worker", "worker_tenant0_uncounted")
    with pytest.raises(AssertionError, match=r"processed differently from tenant0 in its counter deltas") as info:
        check_tenants_symmetric(topo_endpoints, tenants)
    assert '"by_type.contract_symmetry' in str(info.value)


def test_tenant_symmetry_control_passes(topo_stack, topo_endpoints):
    result = check_tenants_symmetric(topo_endpoints, [t.id for t in topo_stack.topology.tenants])
    assert all(r["markers"] == 26 for r in result.values()), result


@pytest.mark.catches("contracts/test_idempotency_faults.py",
                     variant="worker relies on the cache alone (no markers), cache flushed mid-stream")
def test_a_flushed_cache_without_markers_is_caught(topo_stack, topo_endpoints, acme_token, variant):
    """Broken variant: the worker relies on the cache alone (no processed markers). After a FLUSHALL the
    redelivered half is projected again: the Dragonfly contract must report the double count."""
    with pytest.raises(AssertionError, match=r"double-counted or lost") as info:
        check_cache_flush_absorbed(topo_stack, topo_endpoints, acme_token, 200,
                                   variant={"DEML_FAULTS": "worker_skip_marker_check"})
    assert "counter 300" in str(info.value), f"expected the first half counted twice: {info.value}"


def test_cache_flush_control_passes(topo_stack, topo_endpoints, acme_token):
    assert check_cache_flush_absorbed(topo_stack, topo_endpoints, acme_token, 200)["counted"] == 200


@pytest.mark.catches("contracts/test_olap_consistency.py",
                     variant="deml.events as a plain MergeTree (no dedup by event_id)")
def test_a_plain_mergetree_events_table_is_caught(topo_endpoints):
    """Broken variant: deml.events without deduplication (a plain MergeTree). The OLAP contract must refuse it;
    the reference table is put back afterwards and passes."""
    e = topo_endpoints
    ddl(e, "RENAME TABLE deml.events TO deml.events_reference")
    try:
        ddl(e, "CREATE TABLE deml.events AS deml.events_reference ENGINE = MergeTree ORDER BY (tenant_id, event_id)")
        with pytest.raises(AssertionError, match=r"deml.events is MergeTree .*not collapsed by event_id"):
            check_events_table_deduplicates(e)
    finally:
        ddl(e, "DROP TABLE IF EXISTS deml.events")
        ddl(e, "RENAME TABLE deml.events_reference TO deml.events")
    assert check_events_table_deduplicates(e)["engine"].startswith("Replacing")
