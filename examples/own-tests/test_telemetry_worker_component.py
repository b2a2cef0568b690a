"""A component test of the telemetry worker, written as a user of topo would write it.

Only what the worker talks to that the test checks runs: the broker and the Firebase emulator, each one container
configured from topology.yaml (SASL users, ACLs and topics of the topology; the tenants' documents), and the
worker's own container from the app image on the same network, under the service names its environment refers
to. The test produces one event envelope as the pipeline does (keyed by tenant) and waits for the worker's
Firestore projection. ClickHouse and Dragonfly are left out: the worker writes Firestore first and only then
ClickHouse (it retries that part; Dragonfly is an optional cache), so the projection is what this component promises
without them.

    .venv/bin/python -m pytest -s examples/own-tests/test_telemetry_worker_component.py
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from deml import envelope  # the reference app's envelope: make / encode
from testcontainers.core.network import Network

from harness.testing import clients
from harness.testing import FirebaseEmulatorContainer, RedpandaSaslContainer, container_for, started

TOPOLOGY = Path(__file__).resolve().parents[2] / "topology.yaml"
WORKER = "telemetry-worker"

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def network():
    with Network() as net:
        yield net


@pytest.fixture(scope="module")
def broker_and_firebase(network):
    # both at once (each waits for its own probes and bootstraps itself: SASL users, ACLs, topics; tenant documents);
    # the worker needs Firestore only, so the Functions emulator's triggers are not waited for
    with started(RedpandaSaslContainer(TOPOLOGY, network=network),
                 FirebaseEmulatorContainer(TOPOLOGY, network=network, wait_functions=False)) as (broker, firebase):
        print(f"\nbroker ready: {broker.start_seconds} s; firebase ready: {firebase.start_seconds} s")
        yield broker, firebase


@pytest.fixture(scope="module")
def broker(broker_and_firebase):
    return broker_and_firebase[0]


@pytest.fixture(scope="module")
def firebase(broker_and_firebase):
    return broker_and_firebase[1]


@pytest.fixture(scope="module")
def worker(network, broker, firebase):
    # started after the broker's bootstrap: its SASL user and ACLs exist when it joins its consumer group
    with container_for(TOPOLOGY, WORKER, network=network) as w:
        print(f"\n{WORKER} ready: {w.start_seconds} s")
        yield w


def test_an_event_on_frontend_events_is_projected_into_firestore(broker, firebase, worker):
    event = envelope.make("acme", "page.view", "frontend", {"path": "/pricing"})
    acks: list = []
    producer = Producer(broker.client_config(**{"enable.idempotence": True, "acks": "all"}))
    producer.produce("frontend-events", envelope.encode(event), key=b"acme",
                     on_delivery=lambda err, _msg: acks.append(err))
    producer.flush(20)
    assert acks == [None], f"the broker did not acknowledge the event: {acks}"

    t0 = time.monotonic()
    path = f"tenants/acme/events/{event['event_id']}"
    doc = clients.eventually(lambda: clients.firestore_doc(firebase.firestore_host(), firebase.project_id, path),
                             timeout=60, interval=0.25)
    assert doc is not None, f"no projection at {path} within 60 s; worker logs:\n{worker.get_logs()[0][-2000:]!r}"
    print(f"\nprojection seen {time.monotonic() - t0:.2f} s after the broker's ack")
    fields = doc["fields"]
    assert fields["event_id"]["stringValue"] == event["event_id"]
    assert fields["tenant_id"]["stringValue"] == "acme"
    assert fields["type"]["stringValue"] == "page.view" and fields["source"]["stringValue"] == "frontend"
    assert fields["payload"]["mapValue"]["fields"]["path"]["stringValue"] == "/pricing"
