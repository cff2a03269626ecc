"""Consuming events and commands without losing any.

Nameko acks a message whose handler raised. :func:`consume_event` and
:func:`consume_command` instead requeue it when the failure is transient (the database or a
peer is down) and otherwise publish it, with the reason, to the ``deskflow.dead-letter``
queue before acking, so no message disappears (:mod:`services.common.dead_letters`; a
message that cannot be decoded goes there too, on every consumer).

Commands are how other systems ask for a change over the queue: they publish an envelope
(``{id, type, data, ...}``) to the topic exchange ``deskflow.commands`` with the command type
(``customer.upsert``, ``ticket.create``) as routing key.
"""
import json
import traceback

import eventlet
from kombu import Exchange, Queue
from nameko.events import EventHandler
from nameko.messaging import Consumer
from sqlalchemy.exc import OperationalError

from services.common.dead_letters import (
    ScreeningQueueConsumer, consumer_name, dead_letter, dead_letter_publisher,
)
from services.common.errors import DeskflowError, Unavailable


TRANSIENT_ERRORS = (OperationalError, Unavailable)
REQUEUE_PAUSE_SECONDS = 1.0
COMMAND_EXCHANGE = Exchange("deskflow.commands", type="topic", durable=True)


def failure_reason(exc: BaseException) -> str:
    """What a dead letter's reader needs: the error, and for our typed errors the details
    (a validation failure names each bad field)."""
    reason = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    if isinstance(exc, DeskflowError) and exc.details:
        reason += " " + json.dumps(exc.details, ensure_ascii=False, default=str)
    return reason


class DeadLettering:
    """Acks success, requeues transient failures, dead-letters the rest with the reason."""

    queue_consumer = ScreeningQueueConsumer()

    def setup(self):
        super().setup()
        self.dead_letters = dead_letter_publisher(self.container.config["AMQP_URI"])

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
        elif isinstance(exc_info[1], TRANSIENT_ERRORS):
            eventlet.sleep(REQUEUE_PAUSE_SECONDS)
            self.queue_consumer.requeue_message(message)
        else:
            dead_letter(self.dead_letters, message, self.queue.name,
                        consumer_name(self.container.service_name, self),
                        failure_reason(exc_info[1]))
            self.queue_consumer.ack_message(message)
        return result, exc_info


class ReliableEventHandler(DeadLettering, EventHandler):
    pass


class CommandHandler(DeadLettering, Consumer):
    """Consumes ``command_type`` commands from a durable queue of the service's own."""

    def __init__(self, command_type: str, **kwargs):
        self.command_type = command_type
        super().__init__(queue=None, **kwargs)

    def setup(self):
        self.queue = Queue(f"{self.container.service_name}.{self.command_type}",
                           exchange=COMMAND_EXCHANGE, routing_key=self.command_type, durable=True)
        super().setup()


consume_event = ReliableEventHandler.decorator
consume_command = CommandHandler.decorator
