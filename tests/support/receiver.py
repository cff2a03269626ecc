"""A real HTTP server that receives webhook deliveries and checks them as a receiver should
(README, "Receiving webhooks"): the signature is the HMAC-SHA256 of
``"<X-Deskflow-Timestamp>.<raw body>"``, and a timestamp more than ``TOLERANCE_SECONDS`` away
from the receiver's clock is a replay, refused like a bad signature (401).

It can fail the first N deliveries (HTTP 500) and can hold requests until released, to
stand in for a broken or a slow receiver. Runs in a (green) thread of the test process.
"""
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "s3cret-signing-key-0123"
TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Received:
    delivery_id: str
    event_type: str
    envelope: dict
    signature_valid: bool
    status: int
    timestamp: str = ""
    signature: str = ""
    body: bytes = b""
    host: str = ""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # a burst of deliveries waits in the backlog rather than timing out


class WebhookReceiver:
    def __init__(self, secret: str, fail_times: int = 0, hold: bool = False, clock=time.time):
        self.secret = secret
        self.clock = clock  # the receiver's idea of now (Unix seconds)
        self.fail_times = fail_times
        self.released = threading.Event()
        if not hold:
            self.released.set()
        self.requests: list[Received] = []
        self.arrived = 0  # requests read, answered or not (a held one is not in ``requests``)
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self) -> "WebhookReceiver":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def expected_signature(self, timestamp: str, body: bytes) -> str:
        signed = timestamp.encode() + b"." + body
        return "sha256=" + hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()

    def is_authentic(self, timestamp: str, signature: str, body: bytes) -> bool:
        """Signed with our secret, over this body and timestamp, and sent recently."""
        if not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > TOLERANCE_SECONDS:
            return False
        return hmac.compare_digest(signature, self.expected_signature(timestamp, body))

    def accepted(self) -> list[Received]:
        """Deliveries answered with 200: what the receiver's owner actually got."""
        return [received for received in self.requests if received.status == 200]

    def _answer(self, headers, body: bytes) -> int:
        timestamp = headers.get("X-Deskflow-Timestamp", "")
        signature = headers.get("X-Deskflow-Signature", "")
        valid = self.is_authentic(timestamp, signature, body)
        with self.lock:
            failing = valid and len(self.requests) < self.fail_times
            status = 401 if not valid else 500 if failing else 200
            self.requests.append(Received(headers.get("X-Deskflow-Delivery", ""),
                                          headers.get("X-Deskflow-Event", ""),
                                          json.loads(body), valid, status, timestamp,
                                          signature, body, headers.get("Host", "")))
        return status

    def _handler_class(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.arrived += 1
                receiver.released.wait()
                status = receiver._answer(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def receivers():
    """``receivers(fail_times=3)`` starts a receiver that checks signatures with ``SECRET``."""
    started = []

    def start(**options):
        started.append(WebhookReceiver(SECRET, **options).start())
        return started[-1]

    yield start
    for receiver in started:
        receiver.stop()
