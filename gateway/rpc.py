"""A pool of RPC clients for a threaded web server.

A client is used by one call at a time and then returned; the pool never opens a broker
connection per request. A client whose call failed at the transport level (timeout, lost
connection) is closed and replaced, since its reply queue may hold a stale answer.

Each :class:`RpcClient` speaks Nameko's RPC protocol (``<service>.<method>`` on the
``nameko-rpc`` exchange, ``{"args", "kwargs"}`` in, ``{"result", "error"}`` back,
``nameko.*`` headers for the context data) on one connection and one channel of its own,
publishing the request and consuming the reply there. Nameko's standalone client did the
same work with more: a persistent message (written to disk by the broker) with a publisher
confirm awaited before the reply, on a second connection taken from a pool, and a
durable reply queue whose every reply was acknowledged. None of that buys anything for
an RPC, whose caller waits with a timeout and retries (writes carry an idempotency key,
so a repeat changes nothing), so here:

- requests are transient (``delivery_mode=1``) and unconfirmed; a request lost with a
  broker that goes down is a timeout or a lost connection, answered 503 "retry";
- they stay ``mandatory``: a request no queue takes (the service never declared its queue)
  comes back as ``basic.return`` on the same channel, ahead of any reply, and is raised as
  ``UnknownService`` at once — what the confirm was for in Nameko's client;
- the reply queue is exclusive to the connection and goes with it (no queue left on the
  broker by a client that died), and replies are consumed without acknowledgements.

Events and the outbox keep persistence and confirms (:mod:`services.common.publishing`).
"""
import queue
import select
import socket
import threading
import time
import uuid
from contextlib import contextmanager

from amqp.exceptions import AMQPError
from kombu import Connection, Consumer, Producer, Queue
from kombu.exceptions import OperationalError
from nameko.constants import NON_PERSISTENT
from nameko.exceptions import RpcTimeout, UnknownService, deserialize
from nameko.rpc import get_rpc_exchange

from services.common.errors import DeskflowError, Unavailable

TRANSPORT_ERRORS = (RpcTimeout, UnknownService, OperationalError, AMQPError, OSError)
# The name Nameko's standalone clients give their reply queues, which the broker's
# permissions for the gateway's user allow (deploy/rabbitmq/definitions.json).
REPLY_QUEUE_PREFIX = "rpc.reply-standalone_rpc_proxy-"
_RETURNED = object()  # the reply slot of a request the broker returned unrouted


class RpcClient:
    """One connection and channel: requests go out on it, their replies come back on it.
    Not thread-safe; the pool gives it to one call at a time."""

    def __init__(self, amqp_uri: str, timeout: float):
        self.amqp_uri, self.timeout = amqp_uri, timeout
        self._waiting = self._reply = None
        self._open()

    def _open(self):
        self.connection = Connection(self.amqp_uri, connect_timeout=self.timeout)
        channel = self.connection.channel()
        exchange = get_rpc_exchange({})
        self.reply_to = uuid.uuid4().hex
        reply_queue = Queue(REPLY_QUEUE_PREFIX + self.reply_to, exchange=exchange,
                            routing_key=self.reply_to, durable=False, exclusive=True,
                            auto_delete=True)
        self.consumer = Consumer(channel, queues=[reply_queue], callbacks=[self._on_reply],
                                 no_ack=True, accept=["json"])
        self.consumer.consume()
        self.producer = Producer(channel, exchange=exchange, serializer="json",
                                 on_return=self._on_return)

    def call(self, service: str, method: str, args, kwargs, context: dict):
        """``service.method(*args, **kwargs)`` with ``context`` as Nameko context data: its
        result, or the remote error raised here."""
        correlation_id = uuid.uuid4().hex
        self._waiting, self._reply = correlation_id, None
        request = {"body": {"args": args, "kwargs": kwargs},
                   "routing_key": f"{service}.{method}", "correlation_id": correlation_id,
                   "headers": {f"nameko.{key}": value for key, value in context.items()
                               if value is not None}}
        if self._closed_by_broker():
            self._reopen()
        try:
            self._publish(request)
        except self.connection.connection_errors:  # broken: nothing went out
            self._reopen()
            self._publish(request)
        deadline = time.monotonic() + self.timeout
        while self._reply is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RpcTimeout(self.timeout)
            try:
                self.connection.drain_events(timeout=remaining)
            except socket.timeout:
                raise RpcTimeout(self.timeout) from None
        reply, self._waiting = self._reply, None
        if reply is _RETURNED:
            raise UnknownService(service)
        if reply.get("error"):
            raise deserialize(reply["error"])
        return reply["result"]

    def _closed_by_broker(self) -> bool:
        """Whether the broker spoke while this client sat in the pool: between calls it
        sends nothing but a ``connection.close`` (a restart, an admin closing it) before
        hanging up. A request sent there would be lost; a client found so is opened
        again before it sends, which is what lets the pool ride out a broker restart."""
        sock = self.connection.connection.sock
        return sock is None or bool(select.select([sock], [], [], 0)[0])

    def _reopen(self) -> None:
        self.close()
        self._open()

    def _publish(self, request: dict) -> None:
        self.producer.publish(request["body"], routing_key=request["routing_key"],
                              mandatory=True, delivery_mode=NON_PERSISTENT,
                              reply_to=self.reply_to, correlation_id=request["correlation_id"],
                              headers=request["headers"])

    def _on_reply(self, body, message):
        if message.properties.get("correlation_id") == self._waiting:
            self._reply = body

    def _on_return(self, _exception, _exchange, _routing_key, message):
        if message.properties.get("correlation_id") == self._waiting:
            self._reply = _RETURNED

    def close(self):
        try:
            self.connection.release()
        except Exception:  # already broken: nothing left to release
            pass


class RpcPool:
    def __init__(self, amqp_uri: str, size: int, timeout: float, observe=None):
        """``observe(service, method, outcome, seconds)`` is told of every call."""
        self.amqp_uri = amqp_uri
        self.size = size
        self.timeout = timeout
        self.observe = observe or (lambda *args: None)
        self._idle = queue.LifoQueue()
        self._opened = 0
        self._lock = threading.Lock()

    def call(self, service: str, method: str, *args, context: dict, **kwargs):
        """Call ``service.method`` with ``context`` as Nameko context data."""
        started, outcome = time.perf_counter(), "ok"
        try:
            with self._client() as client:
                return client.call(service, method, args, kwargs, context)
        except Unavailable:
            outcome = "unavailable"
            raise
        except DeskflowError as exc:  # refused: an answer such as 404 or 422, not a failure
            outcome = "refused" if exc.status < 500 else "error"
            raise
        except Exception:
            outcome = "error"
            raise
        finally:
            self.observe(service, method, outcome, time.perf_counter() - started)

    @contextmanager
    def _client(self):
        client = self._acquire()
        try:
            yield client
        except TRANSPORT_ERRORS as exc:
            self._discard(client)
            raise Unavailable(_unavailable_message(exc), {"reason": type(exc).__name__}) from None
        except BaseException:
            self._idle.put(client)
            raise
        else:
            self._idle.put(client)

    def _acquire(self) -> RpcClient:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            may_open = self._opened < self.size
            if may_open:
                self._opened += 1
        if not may_open:
            try:
                return self._idle.get(timeout=self.timeout)
            except queue.Empty:
                raise Unavailable("All connections to the services are busy; retry shortly.") from None
        try:
            return RpcClient(self.amqp_uri, self.timeout)
        except Exception as exc:
            with self._lock:
                self._opened -= 1
            raise Unavailable(_unavailable_message(exc), {"reason": type(exc).__name__}) from None

    def _discard(self, client: RpcClient):
        with self._lock:
            self._opened -= 1
        client.close()

    def close(self):
        while True:
            try:
                self._discard(self._idle.get_nowait())
            except queue.Empty:
                return


def _unavailable_message(exc) -> str:
    if isinstance(exc, RpcTimeout):
        return "A service did not answer in time; retry shortly."
    if isinstance(exc, UnknownService):
        return f"The {exc.args[0]} service is not running."
    return "The message broker cannot be reached; retry shortly."
