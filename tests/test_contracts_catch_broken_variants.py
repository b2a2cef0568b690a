"""Each fault contract can fail: run against a deliberately broken variant of the app, it does.

Broken variants are switched on per container through DEML_FAULTS (never set by a rendered topology):
a telemetry worker without the processed-marker check, and a relay that marks rows before producing them."""
from __future__ import annotations

import pytest

from contracts.test_idempotency_faults import check_relay_crash_absorbed, check_worker_crash_absorbed
from harness import clients

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def acme_token(topo_endpoints) -> str:
    return clients.sign_in(topo_endpoints.auth_host, topo_endpoints.firebase_project, "acme").id_token


def test_worker_without_the_marker_check_double_counts(topo_stack, topo_endpoints, acme_token):
    broken = {"DEML_FAULTS": "worker_crash_before_commit@75,worker_skip_marker_check"}
    with pytest.raises(AssertionError, match="double-counted or lost"):
        check_worker_crash_absorbed(topo_stack, topo_endpoints, acme_token, 300, variant=broken)


def test_relay_marking_before_producing_loses_events(topo_stack, topo_endpoints, acme_token):
    broken = {"DEML_FAULTS": "relay_crash_between@75,relay_mark_before_produce", "RELAY_BATCH": "20"}
    with pytest.raises(AssertionError, match="expected 300 projections and rows"):
        check_relay_crash_absorbed(topo_stack, topo_endpoints, acme_token, 300, variant=broken, timeout=45)


def test_the_correct_app_passes_the_same_checks(topo_stack, topo_endpoints, acme_token):
    """The control: the same checks, the same faults, the real app — exact counts."""
    assert check_worker_crash_absorbed(topo_stack, topo_endpoints, acme_token, 300)["counted"] == 300
    assert check_relay_crash_absorbed(topo_stack, topo_endpoints, acme_token, 300)["projected"] == 300
