"""A pool of standalone Nameko RPC clients for a threaded web server.

A client is used by one call at a time and then returned; the pool never opens a broker
connection per request. A client whose call failed at the transport level (timeout, lost
connection) is closed and replaced, since its reply queue may hold a stale answer.
"""
import queue
import threading
import time
from contextlib import contextmanager

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcProxy

from services.common.errors import DeskflowError, Unavailable

TRANSPORT_ERRORS = (RpcTimeout, UnknownService, OperationalError, AMQPError, OSError)


class RpcPool:
    def __init__(self, amqp_uri: str, size: int, timeout: float, observe=None):
        """``observe(service, method, outcome, seconds)`` is told of every call."""
        self.config = {"AMQP_URI": amqp_uri}
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
            with self._client(context) as cluster:
                return getattr(getattr(cluster, service), method)(*args, **kwargs)
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
    def _client(self, context: dict):
        client = self._acquire()
        # The standalone client sends its worker context's data with every call; we own
        # this client until it is released, so the data is this call's alone.
        client._worker_ctx.data.clear()
        client._worker_ctx.data.update(context)
        try:
            yield client._proxy
        except TRANSPORT_ERRORS as exc:
            self._discard(client)
            raise Unavailable(_unavailable_message(exc), {"reason": type(exc).__name__}) from None
        except BaseException:
            self._idle.put(client)
            raise
        else:
            self._idle.put(client)

    def _acquire(self):
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
            client = ClusterRpcProxy(self.config, timeout=self.timeout)
            client.start()
            return client
        except Exception as exc:
            with self._lock:
                self._opened -= 1
            raise Unavailable(_unavailable_message(exc), {"reason": type(exc).__name__}) from None

    def _discard(self, client):
        with self._lock:
            self._opened -= 1
        try:
            client.stop()
        except Exception:  # already broken; nothing more to release
            pass

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
