"""CPU time per process, read from ``/proc``, for the benchmarks that compare where the CPU of
a request goes (``bench/tickets.py``).

A :class:`CpuMeter` polls a set of labelled processes (a process tree, the PostgreSQL
backends serving some databases) while a phase runs, remembering each pid's first and last
CPU time, so processes that start during the phase (a pool's extra connection) count from
zero and processes that end keep what was last seen of them.
"""
import os
import threading
import time
from collections import defaultdict
from pathlib import Path

import psycopg

TICKS = os.sysconf("SC_CLK_TCK")
POLL_SECONDS = 0.25


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text()
                                               .rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    return parents


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children = defaultdict(list)
    for pid, parent in _parents().items():
        children[parent].append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def command_line(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def stack_processes(root: int) -> dict[int, str]:
    """The processes of a stack started by ``scripts/run.py`` (pid ``root``), labelled: each
    service by its name, ``gateway`` for gunicorn and its workers."""
    labelled = {}
    for pid in descendants(root):
        command = command_line(pid)
        if "services.common.run" in command:
            labelled[pid] = command[command.index("services.common.run") + 1]
        elif any("gunicorn" in part for part in command):
            labelled[pid] = "gateway"
    return labelled


def tree(root: int, label: str) -> dict[int, str]:
    return {pid: label for pid in descendants(root)}


def shared_broker_pids() -> dict[int, str]:
    """The shared RabbitMQ's beam (its CPU then includes every other user of the broker)."""
    return {pid: "rabbitmq" for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
            if any(part.endswith("beam.smp") for part in command_line(pid)[:1])
            and "rabbit" in " ".join(command_line(pid))}


class PostgresBackends:
    """The backend processes serving ``databases`` on the server at ``admin_url``."""

    def __init__(self, admin_url: str, databases: list[str], label: str = "postgres"):
        self.conninfo = admin_url.replace("postgresql+psycopg://", "postgresql://")
        self.databases = list(databases)
        self.label = label
        self._conn = None

    def __call__(self) -> dict[int, str]:
        if not self.databases:
            return {}
        if self._conn is None:
            self._conn = psycopg.connect(self.conninfo, autocommit=True)
        rows = self._conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s)",
                                  (self.databases,)).fetchall()
        return {pid: self.label for (pid,) in rows}

    def close(self):
        if self._conn is not None:
            self._conn.close()


class CpuMeter:
    """CPU seconds per label used while :meth:`measuring` runs; ``sources`` are functions
    returning ``{pid: label}``."""

    def __init__(self, *sources):
        self.sources = sources

    def _snapshot(self) -> dict[int, tuple[str, float]]:
        seen = {}
        for source in self.sources:
            for pid, label in source().items():
                seconds = cpu_seconds(pid)
                if seconds is not None:
                    seen[pid] = (label, seconds)
        return seen

    def measuring(self) -> "Measurement":
        return Measurement(self)


class Measurement:
    def __init__(self, meter: CpuMeter):
        self.meter = meter
        self.first = meter._snapshot()
        self.last = dict(self.first)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self):
        while not self._stop.wait(POLL_SECONDS):
            self._take()

    def _take(self):
        for pid, seen in self.meter._snapshot().items():
            self.last[pid] = seen

    def stop(self) -> dict[str, float]:
        """CPU seconds per label since the start."""
        self._stop.set()
        self._thread.join()
        self._take()
        used = defaultdict(float)
        for pid, (label, seconds) in self.last.items():
            start = self.first.get(pid, (label, 0.0))[1]
            used[label] += max(0.0, seconds - start)
        return dict(used)


def probe_ms(rounds: int = 3) -> float:
    """The best of ``rounds`` timings of a fixed pure-Python loop: this machine's speed at
    the moment, to normalise figures taken minutes apart."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        total = 0
        for n in range(300_000):
            total += n * n % 7
        best = min(best, time.perf_counter() - started)
    return best * 1000
