"""The real processes, started as ``make run`` starts them (``scripts/run.py``), on a
throwaway vhost, fresh databases and a free port; and a small HTTP client for them."""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests

from scripts.run import die_with_parent
from services.common.config import METRICS_PORTS, SERVICE_NAMES

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "Admin#12345"
STARTUP_SECONDS = 240  # generous: a loaded CI machine starts five processes slowly


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Api:
    """``requests`` bound to the gateway's base URL and, once logged in, a token."""

    def __init__(self, base_url: str, token: str | None = None):
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


def open_ticket(api: Api, customer_id: str, **fields) -> dict:
    """Open a ticket through the API: a medium after-sales inquiry unless ``fields`` say
    otherwise."""
    response = api.post("/api/v1/tickets", json={
        "customer_id": customer_id, "service_type": "aftersales", "category": "inquiry",
        "priority": "medium", "title": "Needs help", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def open_breaching_ticket(admin: Api, customer_id: str, target_seconds: int) -> dict:
    """Open a high-priority complaint under an SLA policy whose complaint first-response
    target is ``target_seconds``, then put the policy back (the stacks are shared)."""
    policy = admin.get("/api/v1/sla/policy").json()
    fast = {**policy, "first_response": {**policy["first_response"], "complaint": target_seconds}}
    assert admin.put("/api/v1/sla/policy", json=fast).status_code == 200
    try:
        ticket = open_ticket(admin, customer_id, category="complaint", priority="high",
                             title="Nobody answers")
    finally:
        admin.put("/api/v1/sla/policy", json=policy)
    assert ticket["sla"]["first_response"]["target_seconds"] == target_seconds
    return ticket


class Stack:
    def __init__(self, base_url: str, env: dict, process: subprocess.Popen, log_path: Path):
        self.base_url = base_url
        self.env = env
        self.process = process
        self.log_path = log_path
        self.amqp_uri = env["AMQP_URI"]
        self._tokens = {}

    def metrics_url(self, name: str) -> str:
        """Where process ``name`` (``gateway``, ``ticket`` …) serves ``/metrics``."""
        return f"http://127.0.0.1:{self.env[f'{name.upper()}_METRICS_PORT']}/metrics"

    def scrape(self, name: str) -> str:
        """The exposition text of process ``name``'s ``/metrics``."""
        response = requests.get(self.metrics_url(name), timeout=30)
        response.raise_for_status()
        return response.text

    def anonymous(self) -> Api:
        return Api(self.base_url)

    def login(self, username: str, password: str) -> Api:
        response = self.anonymous().post("/api/v1/auth/login",
                                         json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return Api(self.base_url, response.json()["access_token"])

    def admin(self) -> Api:
        if "admin" not in self._tokens:
            self._tokens["admin"] = self.login("admin", ADMIN_PASSWORD)
        return self._tokens["admin"]

    def user(self, role: str, username: str | None = None, **fields) -> Api:
        """A logged-in client for a new user with ``role`` (and ``fields`` such as ``team``),
        past the password change an admin-made user must make at its first login; the
        client knows its ``username`` and ``password``."""
        username = username or f"{role}-{uuid.uuid4().hex[:6]}"
        initial = "Passw0rd!" + uuid.uuid4().hex[:4]
        response = self.admin().post("/api/v1/users", json={
            "username": username, "password": initial, "role": role,
            "email": f"{username}@example.com", **fields})
        assert response.status_code == 201, response.text
        password = "Chosen#" + uuid.uuid4().hex[:8]
        changed = self.login(username, initial).post("/api/v1/auth/password", json={
            "current_password": initial, "new_password": password})
        assert changed.status_code == 200, changed.text
        api = Api(self.base_url, changed.json()["access_token"])
        api.username, api.password = username, password
        return api

    def service_pid(self, name: str) -> int | None:
        """The process id of the running ``name`` service (a child of the supervisor)."""
        wanted = ["-m", "services.common.run", name]
        for pid, command in children_of(self.process.pid):
            if command[1:4] == wanted:
                return pid
        return None

    def gateway_pid(self) -> int | None:
        """The gateway's gunicorn master process (a child of the supervisor)."""
        for pid, command in children_of(self.process.pid):
            if command[1:3] == ["-m", "gunicorn"]:
                return pid
        return None

    def gateway_worker_pids(self) -> list[int]:
        """The gunicorn workers serving the gateway (children of its master process)."""
        master = self.gateway_pid()
        return [pid for pid, _command in children_of(master)] if master else []

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def children_of(parent_pid: int) -> list[tuple[int, list[str]]]:
    """(pid, command line) of each running child of ``parent_pid``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            command = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except (OSError, ValueError, IndexError):
            continue
        if parent == parent_pid:
            found.append((int(proc.name), command))
    return found


def start_stack(rabbit_manager, databases, workdir: Path, backend: str = "postgres",
                broker: str = "127.0.0.1:5672", **extra_env) -> Stack:
    """The stack on a new vhost of the broker at ``broker`` (``rabbit_manager`` manages it)."""
    vhost = f"deskflow_e2e_{uuid.uuid4().hex[:8]}"
    rabbit_manager.create_vhost(vhost)
    rabbit_manager.set_vhost_permissions(vhost, "guest", ".*", ".*", ".*")
    port = free_port()
    env = {**os.environ, "AMQP_URI": f"amqp://guest:guest@{broker}/{vhost}",
           "DATA_DIR": str(workdir / "data"), "GATEWAY_PORT": str(port),
           "ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONPATH": str(ROOT),
           "OUTBOX_RELAY_SECONDS": "0.5", "DESKFLOW_TEST_VHOST": vhost,
           "METRICS_REFRESH_SECONDS": "1",
           **{f"{name.upper()}_METRICS_PORT": str(free_port()) for name in METRICS_PORTS},
           **extra_env}
    if backend == "postgres":
        for name in SERVICE_NAMES:
            if f"{name.upper()}_DATABASE_URL" not in extra_env:
                env[f"{name.upper()}_DATABASE_URL"] = databases.fresh(name)
    log_path = workdir / "stack.log"
    process = subprocess.Popen([sys.executable, str(ROOT / "scripts/run.py")], cwd=ROOT,
                               env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT,
                               preexec_fn=die_with_parent)
    stack = Stack(f"http://127.0.0.1:{port}", env, process, log_path)
    _wait_until_ready(stack)
    return stack


def _wait_until_ready(stack: Stack):
    deadline = time.time() + STARTUP_SECONDS
    while time.time() < deadline:
        if stack.process.poll() is not None:
            raise RuntimeError(f"the stack exited:\n{stack.logs()[-5000:]}")
        try:
            if requests.get(stack.base_url + "/readyz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    stack.stop()
    raise RuntimeError(f"the stack was not ready in {STARTUP_SECONDS}s:\n{stack.logs()[-5000:]}")


@contextmanager
def running_stack(rabbit_manager, databases, workdir: Path, backend: str = "postgres",
                  broker: str = "127.0.0.1:5672", **extra_env):
    """The stack of :func:`start_stack` while the block runs; stopped and its vhost deleted
    after it."""
    stack = start_stack(rabbit_manager, databases, workdir, backend, broker, **extra_env)
    try:
        yield stack
    finally:
        stack.stop()
        rabbit_manager.delete_vhost(stack.env["DESKFLOW_TEST_VHOST"])
