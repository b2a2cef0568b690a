"""Interruptions: after the broker or ClickHouse is interrupted and replaced as the host does it, no acknowledged
event is lost.

The interruption is the host's own (`stack.interrupt`): on AWS (and the compose stack, which takes AWS as its
reference) a Fargate Spot interruption — SIGTERM, up to stopTimeout, SIGKILL, a replacement task, and a
service-managed EBS volume replaced with it; on Railway a redeploy — SIGTERM, SIGKILL after drainingSeconds (0 s by
default), the volume kept. The topology must declare what keeps the data (volume_lifecycle retained/snapshot/efs)."""
from __future__ import annotations

import pytest

from contracts.support import ch_count, exact, firestore_count_where, ingest_many, page_views, unique

pytestmark = pytest.mark.control


def explain(stack, service: str, result: dict) -> str:
    if result["replaced_volumes"]:
        return (f"{service}'s volume was replaced with its task (volume_lifecycle: {result['volume_lifecycle']}): "
                f"declare volume_lifecycle: retained (a standalone task with deleteOnTermination false), snapshot or "
                f"efs in topology.yaml, services.{service}.placement.aws")
    return f"{service} kept its volume"


def check_replaced_as_the_host_does(stack, service: str, result: dict) -> None:
    """The interruption was the host's: a new task (container), stopped within the host's stop timeout, and each
    volume replaced (a new, empty one) or kept exactly as the topology declares."""
    assert result["new_container"] and result["new_container"] != result["old_container"], \
        f"{service} was not replaced by a new task (container {result['old_container'][:12]} came back)"
    assert result["stopped_in_s"] <= result["stop_timeout_s"] + 10, \
        f"{service} took {result['stopped_in_s']} s to stop; the host's stop timeout is {result['stop_timeout_s']} s"
    assert result["volumes"], f"{service} has no volume: the Spot contract has nothing to keep"
    for name, (before, after) in result["volumes"].items():
        assert before and after, f"volume {name} of {service} is missing (existed before: {before}, after: {after})"
        if result["volume_lifecycle"] == "service-managed":
            assert name in result["replaced_volumes"], \
                f"{service}'s service-managed volume {name} survived its task: AWS deletes it with the task"
        else:
            assert not result["replaced_volumes"], \
                f"{service}'s volume {name} was replaced although it is declared {result['volume_lifecycle']}"


@pytest.mark.services("redpanda", "telemetry-worker")
def test_a_broker_spot_interruption_loses_no_acknowledged_event(stack, endpoints, acme):
    """An interruption of the broker (as the host does it) while events wait in it: every acknowledged event is
    still projected."""
    type_ = f"contract.{unique('spotbroker')}"
    n = 200
    stack.compose("stop", "telemetry-worker")  # the events now live only in the broker
    result = {"replaced_volumes": [], "volume_lifecycle": "?"}
    try:
        ingest_many(endpoints, acme.id_token, page_views(n, type_))
        result = stack.interrupt("redpanda")
    finally:
        if result["replaced_volumes"]:
            # what an operator would do after losing the broker: users and topics again (the data stays lost),
            # so that the contracts after this one still test something
            stack.bootstrap("kafka")
        stack.compose("start", "telemetry-worker")
    check_replaced_as_the_host_does(stack, "redpanda", result)
    seen = exact(endpoints, lambda: firestore_count_where(endpoints, "tenants/acme", "events", "type", type_), n)
    assert seen == n, f"{n - seen} of {n} acknowledged events were lost: {explain(stack, 'redpanda', result)}"


@pytest.mark.services("clickhouse")
def test_a_clickhouse_spot_interruption_loses_no_row(stack, endpoints, acme):
    """An interruption of ClickHouse (as the host does it): the long-term rows written before it are still there."""
    type_ = f"contract.{unique('spotolap')}"
    n = 100
    ingest_many(endpoints, acme.id_token, page_views(n, type_))
    assert exact(endpoints, lambda: ch_count(endpoints, f"type = '{type_}'"), n) == n
    result = stack.interrupt("clickhouse")
    check_replaced_as_the_host_does(stack, "clickhouse", result)
    try:
        rows = ch_count(endpoints, f"type = '{type_}'")
    except RuntimeError as exc:  # e.g. the table itself is gone
        rows, detail = 0, str(exc)[:200]
    else:
        detail = ""
    assert rows == n, f"{n - rows} of {n} rows lost {detail}: {explain(stack, 'clickhouse', result)}"
