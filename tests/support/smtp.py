"""A real SMTP server for tests (aiosmtpd) that keeps every message it receives.

It runs in its own process (``python -m tests.support.smtp PORT DIR``): aiosmtpd needs a
plain asyncio loop, which eventlet's patching of the test process would break. Each message
lands in ``DIR`` as one ``.eml`` file; :meth:`SmtpServer.messages` reads them back.
"""
import email
import email.policy
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.stack import ROOT, free_port

STARTUP_SECONDS = 20


class SmtpServer:
    def __init__(self, directory: Path, port: int | None = None):
        self.directory = directory
        self.port = port or free_port()
        self.url = f"smtp://127.0.0.1:{self.port}"
        self.process = None

    def start(self) -> "SmtpServer":
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.smtp", str(self.port), str(self.directory)],
            cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        deadline = time.time() + STARTUP_SECONDS
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the SMTP server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def messages(self, to: str | None = None) -> list[email.message.EmailMessage]:
        """Every message received so far, oldest first; only those for ``to`` if given."""
        found = [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                 for path in sorted(self.directory.glob("*.eml"))]
        return [message for message in found if to is None or message["To"] == to]


@pytest.fixture(scope="module")
def smtp(tmp_path_factory):
    """A real SMTP server for the tests of one module."""
    server = SmtpServer(tmp_path_factory.mktemp("mail")).start()
    yield server
    server.stop()


def serve(port: int, directory: Path) -> None:
    import signal
    import uuid

    from aiosmtpd.controller import Controller

    class KeepMessages:
        async def handle_DATA(self, server, session, envelope):
            name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
            partial = directory / f"{name}.part"
            partial.write_bytes(envelope.original_content or envelope.content)
            partial.rename(directory / f"{name}.eml")  # readers never see half a message
            return "250 Message accepted"

    controller = Controller(KeepMessages(), hostname="127.0.0.1", port=port)
    controller.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
