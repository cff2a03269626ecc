"""Talking to the services as another system would: commands in, events and dead letters
out."""
import uuid
from contextlib import contextmanager

from kombu import Connection, Producer, Queue
from nameko.amqp.publish import Publisher
from nameko.events import get_event_exchange

from services.common.consumers import COMMAND_EXCHANGE
from services.common.queues import dead_letter_queue


def publish_command(amqp_uri: str, command_type: str, body: dict) -> None:
    Publisher(amqp_uri, declare=[COMMAND_EXCHANGE]).publish(
        body, exchange=COMMAND_EXCHANGE, routing_key=command_type)


def send_command(amqp_uri: str, command_type: str, data: dict, command_id: str | None = None):
    """Publish a well-formed ``command_type`` command with ``data``."""
    publish_command(amqp_uri, command_type,
                    {"id": command_id or str(uuid.uuid4()), "type": command_type, "data": data})


def publish_raw(amqp_uri: str, exchange, routing_key: str, body: bytes, content_type: str,
                headers: dict | None = None) -> None:
    """Publish ``body`` as it is, whatever it holds (for messages no service can decode)."""
    with Connection(amqp_uri) as connection:
        Producer(connection.default_channel).publish(
            body, exchange=exchange, routing_key=routing_key, content_type=content_type,
            content_encoding="utf-8", headers=headers or {}, retry=True)


def dead_letters(amqp_uri: str, queue_type: str = "classic") -> list:
    """Take every message waiting in the dead-letter queue (of type ``queue_type``)."""
    with Connection(amqp_uri) as connection:
        queue = dead_letter_queue(queue_type)(connection.default_channel)
        queue.declare()
        messages = []
        while (message := queue.get(no_ack=True)) is not None:
            messages.append(message)
        return messages


@contextmanager
def listening(amqp_uri: str, source: str, *event_types: str):
    """A private queue bound to ``<source>.events`` for ``event_types`` while the block runs;
    the block gets a function taking the event envelopes received so far."""
    with Connection(amqp_uri) as connection:
        exchange = get_event_exchange(source, {})
        channel = connection.channel()
        exchange(channel).declare()
        queue = Queue(f"listener-{uuid.uuid4().hex}", exchange=exchange, exclusive=True,
                      bindings=None)(channel)
        queue.declare()
        for event_type in event_types:
            queue.bind_to(exchange=exchange, routing_key=event_type)

        def received() -> list[dict]:
            envelopes = []
            while (message := queue.get(no_ack=True)) is not None:
                envelopes.append(message.payload)
            return envelopes

        yield received
