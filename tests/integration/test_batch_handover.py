"""When a batch consumer hands its buffer to a worker (services.common.batches), through a
real container on a real broker, with no wait configured: a lone event goes at once, and
events that arrive while a batch is applied go together as soon as it is done."""
import eventlet
import pytest

from services.common.batches import consume_event_batch
from tests.support.services import publish
from tests.support.waiting import wait_until


class Recorder:
    name = "recorder"
    batches = []
    release = None  # an eventlet Event the first batch waits for, when set

    @consume_event_batch("probe", "probe.happened")
    def take(self, payloads):
        Recorder.batches.append([payload["id"] for payload in payloads])
        if Recorder.release is not None and len(Recorder.batches) == 1:
            Recorder.release.wait()


def envelope(n: int) -> dict:
    return {"id": f"e{n}", "type": "probe.happened", "source": "probe", "data": {}}


@pytest.fixture
def recorder(container_factory, rabbit_config):
    Recorder.batches, Recorder.release = [], None
    container = container_factory(Recorder, {**rabbit_config, "serializer": "json"})
    container.start()
    return container


def test_a_lone_event_is_applied_without_waiting_for_more(recorder, rabbit_config):
    publish(rabbit_config["AMQP_URI"], envelope(1))
    wait_until(lambda: Recorder.batches == [["e1"]], timeout=10)
    publish(rabbit_config["AMQP_URI"], envelope(2))
    wait_until(lambda: Recorder.batches == [["e1"], ["e2"]], timeout=10)


def test_events_arriving_while_a_batch_is_applied_go_next_together(recorder, rabbit_config):
    Recorder.release = eventlet.event.Event()
    publish(rabbit_config["AMQP_URI"], envelope(1))
    wait_until(lambda: len(Recorder.batches) == 1, timeout=10)
    publish(rabbit_config["AMQP_URI"], *(envelope(n) for n in range(2, 7)))
    eventlet.sleep(0.5)  # delivered and buffered, not handed over while the first runs
    assert Recorder.batches == [["e1"]]
    Recorder.release.send()
    wait_until(lambda: len(Recorder.batches) == 2, timeout=10)
    assert Recorder.batches[1] == ["e2", "e3", "e4", "e5", "e6"]
