"""A private RabbitMQ node and a private PostgreSQL cluster, on free ports in a directory of
their own, for tests that stop and restart them: the shared broker and database are never
disturbed.

Both servers refuse to run as root, so when the tests run as root they run as the
``rabbitmq`` and ``postgres`` users (the Debian packages create them) in directories those
users own.
"""
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import requests

from scripts.run import die_with_parent
from tests.support.stack import children_of, free_port

RABBIT_BIN = Path("/usr/lib/rabbitmq/bin")
RABBIT_START_SECONDS = 180
POSTGRES_BIN = Path(os.environ.get("POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


def _owned_by(path: Path, user: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(path, user, user)
    return path


def _as(user: str) -> dict:
    """``Popen`` arguments that run a program as ``user`` when we are root."""
    if os.geteuid() != 0:
        return {}
    return {"user": user, "group": user}


def _checked(command: list[str], **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")


def private_workdir() -> Path:
    """A directory under the system's temporary directory that the server users can reach
    (pytest's own temporary directories are private to the user running the tests)."""
    path = Path(tempfile.mkdtemp(prefix="deskflow-private-"))
    path.chmod(0o755)
    return path


class PrivateRabbit:
    """A RabbitMQ node of its own (``<name>@localhost``) with the management plugin."""

    def __init__(self, workdir: Path, name: str):
        self.dir = _owned_by(workdir, "rabbitmq")
        self.node = f"{name}@localhost"
        self.port, self.management_port, self.dist_port = free_port(), free_port(), free_port()
        home = pwd.getpwnam("rabbitmq").pw_dir if os.geteuid() == 0 else os.environ["HOME"]
        (self.dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n"
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n"
            "loopback_users = none\n")
        (self.dir / "enabled_plugins").write_text("[rabbitmq_management].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")
        self.env = {
            "PATH": os.environ["PATH"], "HOME": home, "LANG": "C.UTF-8",
            "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_PID_FILE": str(self.dir / "rabbit.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        for path in self.dir.iterdir():
            if os.geteuid() == 0:
                shutil.chown(path, "rabbitmq", "rabbitmq")
        self.process = None

    @property
    def management_uri(self) -> str:
        return f"http://guest:guest@127.0.0.1:{self.management_port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self):
        self.process = subprocess.Popen([str(RABBIT_BIN / "rabbitmq-server")], env=self.env,
                                        cwd=self.dir, stdout=(self.dir / "server.out").open("w"),
                                        stderr=subprocess.STDOUT, preexec_fn=die_with_parent,
                                        **_as("rabbitmq"))
        self._wait(lambda: self._management_answers(), "the management API")

    def _management_answers(self) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.management_port}/api/overview",
                                auth=("guest", "guest"), timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _wait(self, probe, what: str):
        deadline = time.monotonic() + RABBIT_START_SECONDS
        while not probe():
            if self.process.poll() is not None:
                raise RuntimeError(f"the private RabbitMQ node exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} of the private RabbitMQ node did not answer "
                                   f"in {RABBIT_START_SECONDS}s:\n{self.log()}")
            time.sleep(0.3)

    def log(self) -> str:
        logs = sorted((self.dir / "log").glob("*.log")) + [self.dir / "server.out"]
        return "\n".join(path.read_text(errors="replace")[-3000:] for path in logs if path.exists())

    def stop(self):
        """Stop the node as its service manager would: SIGTERM to the Erlang VM, which
        stops the broker cleanly (durable queues and persistent messages stay on disk) and
        exits; :meth:`start` starts it again on the same directory. No ``rabbitmqctl``: each
        call boots an Erlang VM of its own, tens of seconds on a loaded machine."""
        self._signal_vm(signal.SIGTERM)
        try:
            self.process.wait(timeout=RABBIT_START_SECONDS)
        except subprocess.TimeoutExpired:
            self.shutdown()

    def shutdown(self):
        """Kill the node: it is thrown away with its directory."""
        self._signal_vm(signal.SIGKILL)
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def _signal_vm(self, signum: int):
        """The server script runs the Erlang VM as its child and waits for it."""
        if self.process is None or self.process.poll() is not None:
            return
        for pid, _command in children_of(self.process.pid):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass


class PrivatePostgres:
    """A PostgreSQL cluster of its own, trusting local connections as ``postgres``. The
    postmaster is our child (it dies with the test run), so a restart is: stop it, start it."""

    def __init__(self, workdir: Path):
        self.dir = _owned_by(workdir, "postgres")
        self.data = self.dir / "data"
        self.port = free_port()
        self.log_path = self.dir / "server.log"
        self.process = None

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self):
        if not self.data.exists():
            _checked([str(POSTGRES_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                      "--auth=trust", "--encoding=UTF8", "--no-sync"], cwd=self.dir,
                     **_as("postgres"))
        self.process = subprocess.Popen(
            [str(POSTGRES_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-k", str(self.dir), "-c", "fsync=off",
             "-c", "max_connections=300"],
            cwd=self.dir, stdout=self.log_path.open("a"), stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent, **_as("postgres"))
        deadline = time.monotonic() + 60
        while not self._accepts():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the private PostgreSQL did not start:\n{self.log()}")
            time.sleep(0.2)

    def _accepts(self) -> bool:
        try:
            psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                            connect_timeout=2).close()
            return True
        except psycopg.OperationalError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self):
        """A fast shutdown: every connection is cut; committed work survives."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self):
        self.stop()
        self.start()

    shutdown = stop
