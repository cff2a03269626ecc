"""Publishing a batch of events with one wait for the broker's confirms.

kombu's ``confirm_publish`` (what nameko's ``Publisher`` uses) waits for the broker's
confirm after every message: a round trip per event. Here the channel is put in confirm mode
once, every message of a batch is published, and then the confirms of all of them are awaited
together. A batch that is not wholly confirmed (a nack, a timeout, a lost connection) raises:
its rows stay unsent in the outbox and are published again later (consumers deduplicate).
"""
import threading
import time

from amqp.exceptions import MessageNacked
from kombu import Connection, Producer
from nameko.constants import DEFAULT_TRANSPORT_OPTIONS, PERSISTENT

CONFIRM_TIMEOUT_SECONDS = 30


class BatchPublisher:
    """Publishes to ``exchange`` over a connection of its own, one batch at a time (callers
    in other threads or greenlets wait their turn)."""

    def __init__(self, amqp_uri: str, exchange, timeout: float = CONFIRM_TIMEOUT_SECONDS):
        self.amqp_uri = amqp_uri
        self.exchange = exchange
        self.timeout = timeout
        self.lock = threading.Lock()
        self._connection = self._producer = None
        self._unconfirmed = set()  # delivery tags published and not yet confirmed
        self._tag = 0  # the channel's last delivery tag
        self._nacked = False

    def publish(self, messages) -> None:
        """Publish ``messages`` (``(body, routing key, headers)``), in order, and return once
        the broker has confirmed every one. A connection found broken (a broker restart
        since the last batch) is opened again and the batch sent once more."""
        with self.lock:
            for attempt in (1, 2):
                try:
                    return self._publish(messages)
                except Exception:
                    self.close()
                    if attempt == 2:
                        raise

    def connect(self) -> None:
        """Open the connection now rather than at the first batch."""
        with self.lock:
            if self._producer is None:
                self._open()

    def _open(self) -> None:
        self._connection = Connection(self.amqp_uri,
                                      transport_options=DEFAULT_TRANSPORT_OPTIONS.copy())
        channel = self._connection.channel()
        channel.confirm_select()
        channel.events["basic_ack"].add(self._on_ack)
        channel.events["basic_nack"].add(self._on_nack)
        self._producer = Producer(channel, exchange=self.exchange, serializer="json")
        self._tag, self._unconfirmed, self._nacked = 0, set(), False

    def _publish(self, messages) -> None:
        if self._producer is None:
            self._open()
        for body, routing_key, headers in messages:
            self._producer.publish(body, routing_key=routing_key, headers=headers,
                                   delivery_mode=PERSISTENT, retry=False)
            self._tag += 1
            self._unconfirmed.add(self._tag)
        deadline = time.monotonic() + self.timeout
        while self._unconfirmed:
            self._connection.drain_events(timeout=max(0.0, deadline - time.monotonic()))
        if self._nacked:
            raise MessageNacked("the broker refused a message of the batch")

    def _confirm(self, tag: int, multiple: bool) -> None:
        if multiple:
            self._unconfirmed = {waiting for waiting in self._unconfirmed if waiting > tag}
        else:
            self._unconfirmed.discard(tag)

    def _on_ack(self, tag: int, multiple: bool) -> None:
        self._confirm(tag, multiple)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        self._nacked = True
        self._confirm(tag, multiple)

    def close(self) -> None:
        """Drop the connection (the next batch opens a new one)."""
        connection, self._connection, self._producer = self._connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # already broken: nothing left to release
                pass
