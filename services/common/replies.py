"""How a service answers an RPC: transient, unconfirmed, serialised once, on one connection.

Nameko's ``Responder`` publishes each reply with its ``Publisher`` defaults: persistent
(``delivery_mode=2``: the broker writes it down before it confirms), with a publisher
confirm awaited, through a producer taken from a pool keyed by a connection object built
for every reply, after serialising the result once to check it can be and then again to
send it. An RPC reply needs none of that: its caller waits for it with a timeout and asks
again (a write under the same idempotency key, which the service answers from what it
stored), and a reply outlives no broker restart in any case, since the caller's reply queue
goes with the caller's connection (``gateway.rpc``). So a reply here is transient and not
confirmed; it is serialised once; it goes out on the container's own reply connection,
one worker at a time. Connection errors are still retried with Nameko's retry policy (the
patient one of ``services.common.run``), so a worker finishing during a broker restart waits
for the broker rather than failing the container.

Requests between services keep their confirm (it is how a call to a service that never
declared its queue fails at once, as ``UnknownService``) but are transient too
(:class:`~services.common.dead_letters.ScreenedRpcProxy`). Events and the outbox keep
persistence and confirms: they must survive a broker restart.
"""
import sys
import threading

from kombu import Connection, Producer
from kombu.serialization import dumps, registry
from nameko.constants import DEFAULT_RETRY_POLICY, DEFAULT_TRANSPORT_OPTIONS, NON_PERSISTENT
from nameko.exceptions import UnserializableValueError, serialize


def reply_body(result, exc_info, serializer: str):
    """``(result, exc_info, (content type, encoding, body))``: the reply Nameko's caller
    decodes. A result that cannot be serialised is answered, and reported to the worker,
    as ``UnserializableValueError``, as Nameko does."""
    error = None if exc_info is None else serialize(exc_info[1])
    try:
        return result, exc_info, dumps({"result": result, "error": error}, serializer)
    except Exception:
        exc_info = sys.exc_info()
        error = serialize(UnserializableValueError(result))
        return None, exc_info, dumps({"result": None, "error": error}, serializer)


class ReplyPublisher:
    """Sends the replies of one container's RPC entrypoints to ``exchange``."""

    def __init__(self, amqp_uri: str, exchange, ssl=None, login_method=None):
        self.connection = Connection(amqp_uri, ssl=ssl, login_method=login_method,
                                     transport_options=DEFAULT_TRANSPORT_OPTIONS.copy())
        self.exchange = exchange
        self._producer = None
        self._lock = threading.Lock()  # one publish at a time on the shared channel

    def send(self, message, result, exc_info):
        """Answer the RPC request ``message`` with what its worker ended with; returns
        ``(result, exc_info)`` as Nameko's ``Responder.send_response`` does."""
        properties = message.properties
        serializer = registry.type_to_name[properties["content_type"]]
        result, exc_info, (content_type, encoding, body) = reply_body(result, exc_info,
                                                                      serializer)
        with self._lock:
            if self._producer is None:
                self._producer = Producer(self.connection, exchange=self.exchange)
            self._producer.publish(body, routing_key=properties["reply_to"],
                                   correlation_id=properties.get("correlation_id"),
                                   content_type=content_type, content_encoding=encoding,
                                   delivery_mode=NON_PERSISTENT, retry=True,
                                   retry_policy=DEFAULT_RETRY_POLICY)
        return result, exc_info

    def close(self) -> None:
        self._producer = None
        try:
            self.connection.release()
        except Exception:  # already broken: nothing left to release
            pass
