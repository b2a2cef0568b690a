"""Fatal consumer errors: the roles replace an unusable consumer instead of idling behind a healthy /health."""
from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

from deml import kafka


def test_fenced_static_member_is_fatal_in_every_shape_the_client_reports_it():
    fenced = KafkaError(KafkaError.FENCED_INSTANCE_ID, "Static consumer fenced", fatal=True)
    assert kafka.fatal(fenced)
    assert kafka.fatal(KafkaException(fenced))
    # what a synchronous commit raises after the fence: the code, without the fatal flag
    assert kafka.fatal(KafkaException(KafkaError(KafkaError.FENCED_INSTANCE_ID, "Commit failed")))
    assert kafka.fatal(KafkaError(KafkaError._FATAL))


def test_ordinary_errors_are_not_fatal():
    assert not kafka.fatal(None)
    assert not kafka.fatal(KafkaError(KafkaError._PARTITION_EOF))
    assert not kafka.fatal(KafkaException(KafkaError(KafkaError.REBALANCE_IN_PROGRESS)))
    assert not kafka.fatal(KafkaException("no KafkaError inside"))


def test_renew_closes_the_old_consumer_even_if_it_refuses_and_subscribes_a_new_one(monkeypatch):
    class Old:
        closed = False

        def close(self):
            Old.closed = True
            raise KafkaException(KafkaError(KafkaError.FENCED_INSTANCE_ID, fatal=True))

    class New:
        def subscribe(self, topics):
            self.topics = topics

    made = []
    monkeypatch.setattr(kafka, "consumer", lambda cfg, group: made.append(group) or New())
    fresh = kafka.renew(Old(), cfg=None, group="telemetry-worker", topics=["a", "b"], why="fenced")
    assert Old.closed and made == ["telemetry-worker"] and fresh.topics == ["a", "b"]


def test_the_worker_waits_for_the_first_message_only_then_takes_what_is_already_fetched():
    from deml.roles.telemetry import take

    class Queue:
        def __init__(self, n):
            self.left, self.calls = list(range(n)), []

        def poll(self, timeout):
            self.calls.append(("poll", timeout))
            return self.left.pop(0) if self.left else None

        def consume(self, num_messages, timeout):
            self.calls.append(("consume", num_messages, timeout))
            got, self.left = self.left[:num_messages], self.left[num_messages:]
            return got

    q = Queue(5)
    assert take(q, 200) == [0, 1, 2, 3, 4] and q.calls == [("poll", 0.5), ("consume", 199, 0)]
    q = Queue(500)
    assert len(take(q, 200)) == 200 and len(take(q, 1)) == 1
    assert take(Queue(0), 200) == []
