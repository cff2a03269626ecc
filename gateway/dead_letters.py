"""The ``deskflow.dead-letter`` queue as admins see it: list, replay, delete, count.

The queue stays the one place dead letters live (no copy to drift from it). Reading it takes
each message without acknowledging it; what is neither replayed nor deleted goes back to the
queue when the channel closes. A replay publishes the message as it first arrived — body,
content type, original headers, reply address — to where it came from: straight to the
consumer's queue (so only that consumer sees it again), or for an RPC request to the RPC
exchange under its routing key (one queue serves all of a service's methods by key). The
dead-letter headers travel with it, so a message that fails again keeps its id and first
sighting.
"""
import logging
from dataclasses import dataclass

from kombu import Connection, Exchange, Producer
from prometheus_client.core import GaugeMetricFamily

from services.common import dead_letters as names
from services.common.errors import Unavailable
from services.common.queues import dead_letter_queue

log = logging.getLogger(__name__)

PREVIEW_CHARS = 300
MAX_BROWSED = 1000  # messages read per request; the count always covers the whole queue


@dataclass(frozen=True)
class Selection:
    """Which dead letters a request means: all, one consumer's, or one by id."""

    consumer: str | None = None
    id: str | None = None

    def matches(self, headers: dict) -> bool:
        return ((self.consumer is None or headers.get(names.CONSUMER) == self.consumer)
                and (self.id is None or headers.get(names.ID) == self.id))


def describe(message) -> dict:
    headers = message.headers or {}
    body = message.body if isinstance(message.body, bytes) else str(message.body).encode()
    return {
        "id": headers.get(names.ID),
        "reason": headers.get(names.REASON),
        "consumer": headers.get(names.CONSUMER),
        "routing_key": headers.get(names.ROUTING_KEY) or message.delivery_info.get("routing_key"),
        "queue": headers.get(names.QUEUE),
        "first_seen": headers.get(names.FIRST_SEEN),
        "content_type": message.content_type,
        "size": len(body),
        "body_preview": body[:PREVIEW_CHARS].decode("utf-8", errors="replace"),
    }


class DeadLetterBox:
    def __init__(self, amqp_uri: str, timeout: float, queue_type: str = "classic"):
        self.amqp_uri = amqp_uri
        self.timeout = timeout
        self.queue = dead_letter_queue(queue_type)

    def count(self) -> int:
        with self._channel() as channel:
            queue = self.queue(channel)
            queue.declare()
            return queue.queue_declare(passive=True).message_count

    def list(self, selection: Selection) -> dict:
        found, total = [], 0
        with self._channel() as channel:
            for message in self._browse(channel, self.queue):
                total += 1
                if selection.matches(message.headers or {}):
                    found.append(describe(message))
        return {"items": found, "total": len(found), "browsed": total}

    def replay(self, selection: Selection) -> int:
        """Send the selected dead letters back; return how many."""
        with self._channel() as channel:
            producer = Producer(channel)
            replayed = 0
            for message in self._browse(channel, self.queue):
                if selection.matches(message.headers or {}):
                    _send_back(producer, message)
                    message.ack()
                    replayed += 1
            return replayed

    def delete(self, selection: Selection) -> int:
        with self._channel() as channel:
            deleted = 0
            for message in self._browse(channel, self.queue):
                if selection.matches(message.headers or {}):
                    message.ack()
                    deleted += 1
            return deleted

    def _channel(self):
        return _OpenChannel(self.amqp_uri, self.timeout)

    @staticmethod
    def _browse(channel, dead_letters):
        """The messages waiting when the request began (not those that arrive meanwhile,
        such as a replayed message failing again), at most :data:`MAX_BROWSED`."""
        queue = dead_letters(channel)
        queue.declare()
        waiting = queue.queue_declare(passive=True).message_count
        for _ in range(min(waiting, MAX_BROWSED)):
            message = queue.get(no_ack=False)
            if message is None:
                return
            yield message


def _send_back(producer: Producer, message) -> None:
    headers = dict(message.headers or {})
    headers.pop(names.ATTEMPTS, None)  # a replayed message gets its tries afresh
    queue, exchange = headers.get(names.QUEUE), headers.get(names.EXCHANGE, "")
    if headers.get(names.CONSUMER, "").endswith(".rpc"):
        target = Exchange(exchange, type="topic", durable=True)
        routing_key = headers[names.ROUTING_KEY]
    else:
        target, routing_key = Exchange(""), queue
    reply = {"reply_to": headers.get(names.REPLY_TO),
             "correlation_id": headers.get(names.CORRELATION_ID)}
    properties = {key: value for key, value in reply.items() if value}
    producer.publish(message.body, exchange=target, routing_key=routing_key, headers=headers,
                     content_type=message.content_type, content_encoding=message.content_encoding,
                     delivery_mode=2, retry=True, **properties)


class _OpenChannel:
    """A connection and channel for one request; closing the channel returns every message
    taken but not acknowledged to the queue."""

    def __init__(self, amqp_uri: str, timeout: float):
        self.connection = Connection(amqp_uri, connect_timeout=timeout,
                                     transport_options={"confirm_publish": True})

    def __enter__(self):
        try:
            self.connection.ensure_connection(max_retries=1)
        except Exception as exc:
            self.connection.release()
            raise Unavailable("The message broker cannot be reached; retry shortly.",
                              {"reason": type(exc).__name__}) from None
        self.channel = self.connection.channel()
        return self.channel

    def __exit__(self, *exc):
        try:
            self.channel.close()
        finally:
            self.connection.release()


class DeadLetterCollector:
    """``deskflow_dead_letters`` for ``/metrics``: the queue's length at scrape time."""

    def __init__(self, box: DeadLetterBox):
        self.box = box

    def collect(self):
        try:
            waiting = self.box.count()
        except Exception as exc:
            log.warning("dead-letter count unavailable: %s", exc)
            return
        yield GaugeMetricFamily("deskflow_dead_letters",
                                "Messages waiting in the deskflow.dead-letter queue.",
                                value=waiting)
