"""Run the whole stack in the foreground: migrate, make sure the admin exists, then start
every service and the gateway, restarting any that exits, until Ctrl-C.

``make run`` calls this; the end-to-end tests start it the same way.
"""
import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.common.config import SERVICE_CLASSES, load_settings  # noqa: E402

RESTART_DELAYS = (1, 2, 5, 10, 30)
CHILD_ENV = {"PSYCOPG_WAIT_FUNC": "wait_select"}


PR_SET_PDEATHSIG = 1


def die_with_parent():
    """Run in a child before it starts: the kernel sends it SIGTERM when its parent dies,
    so a killed supervisor (or test run) leaves no orphaned services behind."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def commands() -> dict[str, list[str]]:
    python = sys.executable
    programs = {name: [python, "-m", "services.common.run", name] for name in SERVICE_CLASSES}
    programs["gateway"] = [python, "-m", "gunicorn", "-c", str(ROOT / "gateway/gunicorn.conf.py")]
    return programs


class Supervisor:
    """Keeps each program running; restarts a crashed one after a growing pause."""

    def __init__(self, programs: dict[str, list[str]], env: dict):
        self.programs = programs
        self.env = env
        self.processes = {}
        self.restarts = {name: 0 for name in programs}
        self.stopping = False

    def start(self, name: str):
        self.processes[name] = subprocess.Popen(self.programs[name], cwd=ROOT, env=self.env,
                                                preexec_fn=die_with_parent)

    def run(self):
        for name in self.programs:
            self.start(name)
        while not self.stopping:
            time.sleep(0.5)
            for name, process in list(self.processes.items()):
                if process.poll() is not None and not self.stopping:
                    delay = RESTART_DELAYS[min(self.restarts[name], len(RESTART_DELAYS) - 1)]
                    print(f"[run] {name} exited with {process.returncode}; restarting in {delay}s",
                          flush=True)
                    self.restarts[name] += 1
                    time.sleep(delay)
                    self.start(name)

    def stop(self, *_):
        self.stopping = True
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.time() + 15
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                process.kill()


def prepare(env: dict):
    for step in (["-m", "services.common.migrate", "upgrade"], ["-m", "gateway.admin"]):
        subprocess.run([sys.executable, *step], cwd=ROOT, env=env, check=True)


def main():
    settings = load_settings()
    env = {**os.environ, **CHILD_ENV, "PYTHONPATH": str(ROOT)}
    prepare(env)
    supervisor = Supervisor(commands(), env)
    signal.signal(signal.SIGTERM, supervisor.stop)
    signal.signal(signal.SIGINT, supervisor.stop)
    base = f"http://127.0.0.1:{settings.gateway_port}"
    print(f"[run] starting {', '.join(supervisor.programs)}", flush=True)
    print(f"[run] gateway: {base}  (Ctrl-C stops everything)", flush=True)
    ports = ", ".join(f"{name} {port}" for name, port in settings.metrics_ports.items() if port)
    print(f"[run] Prometheus /metrics on {settings.metrics_host}: {ports or 'off'}", flush=True)
    print(f"[run] log in: curl -s -X POST {base}/api/v1/auth/login "
          f"-H 'Content-Type: application/json' "
          f"-d '{{\"username\": \"{settings.admin_username}\", \"password\": \"<password above>\"}}'",
          flush=True)
    supervisor.run()


if __name__ == "__main__":
    main()
