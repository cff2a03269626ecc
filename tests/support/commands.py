"""Talking to the services as another system would: commands in, dead letters out."""
import uuid

from kombu import Connection
from nameko.amqp.publish import Publisher

from services.common.consumers import COMMAND_EXCHANGE
from services.common.outbox import DEAD_LETTER_QUEUE


def publish_command(amqp_uri: str, command_type: str, body: dict) -> None:
    Publisher(amqp_uri, declare=[COMMAND_EXCHANGE]).publish(
        body, exchange=COMMAND_EXCHANGE, routing_key=command_type)


def send_command(amqp_uri: str, command_type: str, data: dict, command_id: str | None = None):
    """Publish a well-formed ``command_type`` command with ``data``."""
    publish_command(amqp_uri, command_type,
                    {"id": command_id or str(uuid.uuid4()), "type": command_type, "data": data})


def dead_letters(amqp_uri: str) -> list:
    """Take every message waiting in the dead-letter queue."""
    with Connection(amqp_uri) as connection:
        queue = DEAD_LETTER_QUEUE(connection.default_channel)
        queue.declare()
        messages = []
        while (message := queue.get(no_ack=True)) is not None:
            messages.append(message)
        return messages
