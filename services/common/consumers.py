"""Consuming events and commands without losing any.

Nameko acks a message whose handler raised. :func:`consume_event` and
:func:`consume_command` instead retry it when the failure is transient (the database or a
peer is down) and otherwise publish it, with the reason, to the ``deskflow.dead-letter``
queue before acking, so no message disappears (:mod:`services.common.dead_letters`; a
message that cannot be decoded goes there too, on every consumer).

Retries are bounded: a message is tried at most ``CONSUMER_MAX_ATTEMPTS`` times (Nameko
config, default 10), pausing 1, 2, 4 … up to 30 seconds before each requeue (about two and
a half minutes in all, longer than a database restart), then dead-lettered with the last
reason, so a handler that always fails cannot spin on one message for ever. The count
travels with the message: a retry is a copy put back at the end of the consumer's own queue
(through the service's ``<service>.retry`` exchange, to which each of its queues is bound
under its own name) with the ``x-deskflow-attempts`` header raised by one, and the original
is acked, so the bound holds whichever replica takes the copy, and across restarts.

Commands are how other systems ask for a change over the queue: they publish an envelope
(``{id, type, data, ...}``) to the topic exchange ``deskflow.commands`` with the command type
(``customer.upsert``, ``ticket.create``) as routing key.
"""
import json
import logging
import traceback

import eventlet
from kombu import Exchange, Queue, binding
from nameko.events import EventHandler
from nameko.messaging import Consumer
from sqlalchemy.exc import OperationalError

from services.common.dead_letters import (
    ScreeningQueueConsumer, consumer_name, dead_letter, dead_letter_publisher, failed_attempts,
    retry_exchange, retry_later,
)
from services.common.config import settings_from
from services.common.errors import DeskflowError, Unavailable
from services.common.metrics import count_dead_letter
from services.common.queues import apply_queue_type

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, Unavailable)
MAX_ATTEMPTS = 10
RETRY_PAUSE_SECONDS = 1.0
RETRY_PAUSE_MAX_SECONDS = 30.0
COMMAND_EXCHANGE = Exchange("deskflow.commands", type="topic", durable=True)


def failure_reason(exc: BaseException) -> str:
    """What a dead letter's reader needs: the error, and for our typed errors the details
    (a validation failure names each bad field)."""
    reason = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    if isinstance(exc, DeskflowError) and exc.details:
        reason += " " + json.dumps(exc.details, ensure_ascii=False, default=str)
    return reason


def retry_pause(attempts: int, base: float = RETRY_PAUSE_SECONDS,
                most: float = RETRY_PAUSE_MAX_SECONDS) -> float:
    """Seconds to wait after the ``attempts``-th failed try: base, 2×base, 4×base … ≤ most."""
    return min(base * 2 ** (attempts - 1), most)


class DeadLettering:
    """Acks success, retries transient failures a bounded number of times, dead-letters the
    rest (and what ran out of tries) with the reason."""

    queue_consumer = ScreeningQueueConsumer()

    def setup(self):
        super().setup()
        config = self.container.config
        queue_type = settings_from(config).amqp_queue_type
        apply_queue_type(self.queue, queue_type)
        self.dead_letters = dead_letter_publisher(config["AMQP_URI"], queue_type)
        self.max_attempts = int(config.get("CONSUMER_MAX_ATTEMPTS", MAX_ATTEMPTS))
        self.pause = float(config.get("CONSUMER_RETRY_PAUSE_SECONDS", RETRY_PAUSE_SECONDS))
        self.retries = retry_exchange(self.container.service_name)
        # A queue with extra bindings loses its main one when kombu copies it: list both.
        self.queue.bindings |= {
            binding(self.queue.exchange, routing_key=self.queue.routing_key,
                    arguments=self.queue.binding_arguments),
            binding(self.retries, routing_key=self.queue.name)}

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return result, exc_info
        attempts = failed_attempts(message) + 1
        if isinstance(exc_info[1], TRANSIENT_ERRORS) and attempts < self.max_attempts:
            eventlet.sleep(retry_pause(attempts, self.pause))
            try:
                retry_later(self.dead_letters, message, self.retries, self.queue.name, attempts)
            except Exception:  # the broker is gone: the message comes back by itself
                log.exception("could not put a message back for a retry; it is requeued")
                self.queue_consumer.requeue_message(message)
            else:
                self.queue_consumer.ack_message(message)
        else:
            reason = failure_reason(exc_info[1])
            if isinstance(exc_info[1], TRANSIENT_ERRORS):
                reason = f"gave up after {attempts} attempts: {reason}"
            consumer = consumer_name(self.container.service_name, self)
            dead_letter(self.dead_letters, message, self.queue.name, consumer, reason)
            count_dead_letter(self.container, consumer)
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


def consume_events(contract: dict, entrypoint=consume_event):
    """Handle every event of ``contract`` (``{source: (event type, ...)}``) with the decorated
    method, one durable queue per type; ``entrypoint(source, event type)`` makes each
    decorator (one event at a time unless told otherwise)."""
    def decorate(method):
        for source, event_types in contract.items():
            for event_type in event_types:
                method = entrypoint(source, event_type)(method)
        return method
    return decorate
