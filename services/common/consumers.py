"""Event consumption that loses nothing.

Nameko acks a message whose handler raised. :func:`consume_event` instead requeues it when
the failure is transient (the database or a peer is down) and otherwise publishes it, with
the reason, to the ``deskflow.dead-letter`` queue before acking, so no message disappears.
"""
import logging
import traceback

import eventlet
from nameko.amqp.publish import Publisher
from nameko.events import EventHandler
from sqlalchemy.exc import OperationalError

from services.common.errors import Unavailable
from services.common.outbox import DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE

log = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, Unavailable)
REQUEUE_PAUSE_SECONDS = 1.0


def dead_letter_publisher(amqp_uri: str) -> Publisher:
    return Publisher(amqp_uri, declare=[DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE])


def dead_letter(publisher: Publisher, body, routing_key: str, consumer: str, reason: str):
    publisher.publish(body, exchange=DEAD_LETTER_EXCHANGE, routing_key=routing_key,
                      headers={"x-deskflow-reason": reason[:2000],
                               "x-deskflow-consumer": consumer})


class ReliableEventHandler(EventHandler):
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
            consumer = f"{self.container.service_name}.{self.method_name}"
            reason = "".join(traceback.format_exception_only(*exc_info[:2])).strip()
            log.error("dead-lettering %s for %s: %s", self.event_type, consumer, reason)
            dead_letter(self.dead_letters, message.payload, self.event_type, consumer, reason)
            self.queue_consumer.ack_message(message)
        return result, exc_info


consume_event = ReliableEventHandler.decorator
