"""Dead letters: messages a consumer could not take, kept with the reason in the
``deskflow.dead-letter`` queue, where admins list, replay or delete them.

Two ways in. A handler that fails for good (:class:`~services.common.consumers.DeadLettering`),
and a message that cannot even be decoded — larger than ``MAX_MESSAGE_BYTES``, a content
type other than JSON, a body that is not JSON. Nameko hands the second kind to kombu, which
raises inside the consumer loop; :class:`ScreeningQueueConsumer`, the queue consumer every
entrypoint of ours shares (RPC, events, commands, RPC replies), dead-letters it instead.

A dead letter is the original body with its content type, the original headers, and
``x-deskflow-*`` headers naming the reason, the consumer, where it came from (exchange,
routing key, queue) and when it was first seen, so a replay can send it back there.
"""
import logging
import uuid
from functools import partial

from kombu import Exchange
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY, AMQP_URI_CONFIG_KEY, LOGIN_METHOD_CONFIG_KEY, NON_PERSISTENT,
)
from nameko.messaging import QueueConsumer
from nameko.rpc import ReplyListener, Rpc, RpcConsumer, RpcProxy, get_rpc_exchange

from services.common.clock import utcnow
from services.common.config import settings_from
from services.common.db import unreachable_as_unavailable
from services.common.metrics import count_dead_letter
from services.common.queues import DEAD_LETTER_EXCHANGE, apply_queue_type, dead_letter_queue
from services.common.replies import ReplyPublisher

log = logging.getLogger(__name__)

ACCEPTED_CONTENT_TYPE = "application/json"
PREFIX = "x-deskflow-"
REASON, CONSUMER, ID, FIRST_SEEN = (f"{PREFIX}{name}" for name in
                                    ("reason", "consumer", "id", "first-seen"))
EXCHANGE, ROUTING_KEY, QUEUE = (f"{PREFIX}{name}" for name in
                                ("exchange", "routing-key", "queue"))
REPLY_TO, CORRELATION_ID = f"{PREFIX}reply-to", f"{PREFIX}correlation-id"
ATTEMPTS = f"{PREFIX}attempts"  # failed tries so far, carried by a message being retried
MAX_REASON_CHARS = 2000


def dead_letter_publisher(amqp_uri: str, queue_type: str = "classic") -> Publisher:
    return Publisher(amqp_uri, declare=[DEAD_LETTER_EXCHANGE, dead_letter_queue(queue_type)])


def dead_letter(publisher: Publisher, message, queue: str, consumer: str, reason: str) -> None:
    """Publish ``message`` (a kombu message) as it arrived, with why ``consumer`` refused it.
    A message that was replayed keeps its id, first sighting and origin."""
    headers = dict(message.headers or {})
    delivery = message.delivery_info or {}
    properties = message.properties or {}
    origin = {EXCHANGE: delivery.get("exchange", ""),
              ROUTING_KEY: delivery.get("routing_key", ""), QUEUE: queue,
              ID: uuid.uuid4().hex, FIRST_SEEN: utcnow().isoformat(),
              REPLY_TO: properties.get("reply_to"),
              CORRELATION_ID: properties.get("correlation_id")}
    for name, value in origin.items():
        if value is not None:
            headers.setdefault(name, value)
    headers.update({REASON: reason[:MAX_REASON_CHARS], CONSUMER: consumer})
    log.error("dead-lettering %s for %s: %s", headers[ROUTING_KEY], consumer, reason)
    publisher.publish(message.body, exchange=DEAD_LETTER_EXCHANGE,
                      routing_key=headers[ROUTING_KEY] or queue, headers=headers,
                      content_type=message.content_type or "application/octet-stream",
                      content_encoding=message.content_encoding or "binary")


def failed_attempts(message) -> int:
    """How many times consumers have failed ``message`` so far, whichever process tried."""
    try:
        return max(0, int((message.headers or {}).get(ATTEMPTS, 0)))
    except (TypeError, ValueError):
        return 0


def retry_exchange(service: str) -> Exchange:
    """``<service>.retry``: each of the service's consumer queues is bound to it under its own
    name, so a retry reaches that queue only. (Not the default exchange: on the broker a
    service may publish to exchanges of its own only, see deploy/rabbitmq/definitions.json.)"""
    return Exchange(f"{service}.retry", type="direct", durable=True)


def retry_later(publisher: Publisher, message, exchange: Exchange, queue: str,
                attempts: int) -> None:
    """Put ``message`` back at the end of ``queue`` through ``exchange``, carrying
    ``attempts``, so the next consumer to take it, in this process or another, knows how
    many tries it has had. Its origin is kept for a later dead letter."""
    headers = dict(message.headers or {})
    delivery = message.delivery_info or {}
    headers.setdefault(EXCHANGE, delivery.get("exchange", ""))
    headers.setdefault(ROUTING_KEY, delivery.get("routing_key", ""))
    headers[ATTEMPTS] = attempts
    publisher.publish(message.body, exchange=exchange, routing_key=queue, headers=headers,
                      content_type=message.content_type or ACCEPTED_CONTENT_TYPE,
                      content_encoding=message.content_encoding or "utf-8")


def undecodable(message, max_bytes: int) -> str | None:
    """Why ``message`` cannot be decoded, or None when it can."""
    size = len(message.body or b"")
    if size > max_bytes:
        return f"oversized: {size} bytes, more than MAX_MESSAGE_BYTES={max_bytes}"
    if message.content_type != ACCEPTED_CONTENT_TYPE:
        return f"wrong content type: {message.content_type!r}, expected {ACCEPTED_CONTENT_TYPE!r}"
    try:
        message.decode()
    except Exception as exc:
        return f"not JSON: {type(exc).__name__}: {exc}"
    return None


class ScreeningQueueConsumer(QueueConsumer):
    """Nameko's queue consumer, but a message that cannot be decoded is dead-lettered with
    the reason and acknowledged instead of being raised inside the consumer loop."""

    def setup(self):
        super().setup()
        settings = settings_from(self.container.config)
        self.max_bytes = settings.max_message_bytes
        self.dead_letters = dead_letter_publisher(self.amqp_uri, settings.amqp_queue_type)

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for provider, consumer in self._consumers.items():
            consumer.on_message = partial(self.screen, provider)
            consumer.on_decode_error = partial(self.refuse, provider)
        return consumers

    def screen(self, provider, message):
        reason = undecodable(message, self.max_bytes)
        if reason is not None:
            return self.refuse(provider, message, reason)
        return self.handle_message(provider, message.payload, message)

    def refuse(self, provider, message, reason):
        consumer = consumer_name(self.container.service_name, provider)
        try:
            dead_letter(self.dead_letters, message, provider.queue.name, consumer, str(reason))
        except Exception:
            log.exception("could not dead-letter an undecodable message; it is requeued")
            self.requeue_message(message)
            return
        count_dead_letter(self.container, consumer)
        self.ack_message(message)


def consumer_name(service: str, provider) -> str:
    """``customers.ticket_activity`` for a handler; ``customers.rpc`` for the service's RPC
    queue (one queue for every method), ``customers.replies`` for its RPC replies."""
    if isinstance(provider, RpcConsumer):
        return f"{service}.rpc"
    if isinstance(provider, ReplyListener):
        return f"{service}.replies"
    return f"{service}.{provider.method_name}"


class ScreenedRpcConsumer(RpcConsumer):
    """The service's RPC queue (``rpc-<service>``), of the configured type (quorum or
    classic); its replies go out transient and unconfirmed (:mod:`services.common.replies`)."""

    queue_consumer = ScreeningQueueConsumer()

    def setup(self):
        super().setup()
        config = self.container.config
        apply_queue_type(self.queue, settings_from(config).amqp_queue_type)
        self.replies = ReplyPublisher(config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
                                      config.get(AMQP_SSL_CONFIG_KEY),
                                      config.get(LOGIN_METHOD_CONFIG_KEY))

    def handle_result(self, message, result, exc_info):
        result, exc_info = self.replies.send(message, result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def stop(self):
        super().stop()
        self.replies.close()

    def kill(self):
        super().kill()
        self.replies.close()


class ScreenedRpc(Rpc):
    """Every service's RPC entrypoint. Besides the screening, a database that cannot be
    reached is answered as ``Unavailable`` (503, retry shortly), not as a failure (500)."""

    rpc_consumer = ScreenedRpcConsumer()

    def handle_result(self, message, worker_ctx, result, exc_info):
        return super().handle_result(message, worker_ctx, result,
                                     unreachable_as_unavailable(exc_info))


class ScreenedReplyListener(ReplyListener):
    queue_consumer = ScreeningQueueConsumer()


class ScreenedRpcProxy(RpcProxy):
    """``RpcProxy`` whose replies are screened like every other message, and whose requests
    are transient: kept in the broker's memory only (:mod:`services.common.replies`). They
    keep their publisher confirm, which is how a call to a service that never declared its
    queue fails at once (``UnknownService``) instead of timing out."""

    rpc_reply_listener = ScreenedReplyListener()

    def __init__(self, target_service, **options):
        options.setdefault("delivery_mode", NON_PERSISTENT)
        super().__init__(target_service, **options)


rpc = ScreenedRpc.decorator
