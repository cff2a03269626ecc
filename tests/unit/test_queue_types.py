"""Which queues ``AMQP_QUEUE_TYPE=quorum`` turns into quorum queues."""
import pytest
from kombu import Queue

from services.common.queues import apply_queue_type, queue_arguments


def test_only_durable_shared_queues_become_quorum_queues():
    durable = apply_queue_type(Queue("a", durable=True), "quorum")
    exclusive = apply_queue_type(Queue("b", durable=True, exclusive=True), "quorum")
    expiring = apply_queue_type(Queue("c", durable=False, auto_delete=True), "quorum")
    assert durable.queue_arguments == {"x-queue-type": "quorum"}
    assert not exclusive.queue_arguments and not expiring.queue_arguments
    assert queue_arguments("classic") == {}
    with pytest.raises(ValueError):
        queue_arguments("lazy")
