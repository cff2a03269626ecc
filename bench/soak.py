"""A mixed workload at a fixed rate for a long while: ``make soak``.

Starts the real processes (``scripts/run.py``) on PostgreSQL, then sends, at ``--rate``
operations per second for ``--minutes`` (default 10): create customer, create ticket,
transition, comment, list tickets, report summary, in equal shares. Every minute it prints
the operations done, throughput, p50 and p99 latency, errors, and each process's resident
memory (RSS), so a leak shows as RSS that keeps rising minute after minute.

Options: ``--minutes M`` (also ``SOAK_MINUTES``), ``--rate R`` per second (default 20),
``--concurrency C`` client threads (default 8).
"""
import argparse
import os
import queue
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nameko.testing.rabbit import Client as RabbitManager  # noqa: E402

from services.common.config import SERVICE_CLASSES  # noqa: E402
from tests.support.customers import customer_payload  # noqa: E402
from tests.support.databases import PostgresDatabases  # noqa: E402
from tests.support.stack import running_stack  # noqa: E402

RABBIT_API = os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
OPERATIONS = ("create_customer", "create_ticket", "transition", "comment", "list", "summary")


def processes(supervisor_pid: int) -> dict[str, int]:
    """The supervisor's children (and the gateway's workers), by name."""
    found = {}
    for pid in _children(supervisor_pid):
        command = Path(f"/proc/{pid}/cmdline").read_text().rstrip("\0").split("\0")
        name = command[-1] if command[-1] in SERVICE_CLASSES else "gateway"
        found[name] = pid
        if name == "gateway":
            for number, worker in enumerate(_children(pid), 1):
                found[f"gateway-worker-{number}"] = worker
    return found


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in
                Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


class Workload:
    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self.token = token
        self.customers, self.tickets = [], []
        self.lock = threading.Lock()
        self.timings, self.errors, self.done = [], Counter(), 0
        self.sequence = iter(range(10 ** 9))

    def session(self):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def run_one(self, session, operation: str):
        started = time.perf_counter()
        try:
            status = getattr(self, operation)(session)
        except requests.RequestException as exc:
            status = type(exc).__name__
        elapsed = time.perf_counter() - started
        with self.lock:
            self.done += 1
            self.timings.append(elapsed)
            if status not in (200, 201, 409):  # 409: a transition another client made first
                self.errors[f"{operation}:{status}"] += 1

    def _post(self, session, path, body):
        return session.post(self.base_url + path, json=body, timeout=30,
                            headers={"Idempotency-Key": str(uuid.uuid4())})

    def create_customer(self, session):
        response = self._post(session, "/api/v1/customers", customer_payload(
            name=f"Soak {uuid.uuid4().hex[:12]}", industry=random.choice(["TECH", "MFG"]),
            contact_name="Li Na", source="online"))
        if response.status_code == 201:
            with self.lock:
                self.customers.append(response.json()["id"])
        return response.status_code

    def create_ticket(self, session):
        if not self.customers:
            return self.create_customer(session)
        response = self._post(session, "/api/v1/tickets", {
            "customer_id": random.choice(self.customers), "service_type": "aftersales",
            "category": random.choice(["inquiry", "complaint"]), "priority": "medium",
            "title": f"Soak {next(self.sequence)}"})
        if response.status_code == 201:
            with self.lock:
                self.tickets.append(response.json()["id"])
        return response.status_code

    def transition(self, session):
        if not self.tickets:
            return self.create_ticket(session)
        ticket_id = random.choice(self.tickets)
        state = session.get(f"{self.base_url}/api/v1/tickets/{ticket_id}", timeout=30).json()["state"]
        step = {"pending": {"to": "in_progress"},
                "in_progress": {"to": "done", "solution": "Fixed", "resolution": "resolved"},
                "done": {"to": "closed"}}.get(state)
        if step is None:
            return 200
        return self._post(session, f"/api/v1/tickets/{ticket_id}/transitions", step).status_code

    def comment(self, session):
        if not self.tickets:
            return self.create_ticket(session)
        return self._post(session, f"/api/v1/tickets/{random.choice(self.tickets)}/comments",
                          {"body": "Still looking", "public": True}).status_code

    def list(self, session):
        return session.get(f"{self.base_url}/api/v1/tickets", params={"per_page": 50},
                           timeout=30).status_code

    def summary(self, session):
        return session.get(f"{self.base_url}/api/v1/reports/summary", timeout=30).status_code

    def take_minute(self):
        with self.lock:
            timings, errors, done = self.timings, self.errors, self.done
            self.timings, self.errors, self.done = [], Counter(), 0
        return sorted(timings), errors, done


def soak(stack, minutes: float, rate: float, concurrency: int):
    workload = Workload(stack.base_url, stack.admin().session.headers["Authorization"][7:])
    tickets = queue.Queue(maxsize=concurrency * 4)
    stop = threading.Event()

    def client():
        session = workload.session()
        while not stop.is_set():
            try:
                operation = tickets.get(timeout=0.5)
            except queue.Empty:
                continue
            workload.run_one(session, operation)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    pids = processes(stack.process.pid)
    names = sorted(pids)
    print(f"[soak] {minutes} min at {rate}/s, {concurrency} clients; RSS in MB of: "
          + ", ".join(names), flush=True)
    print(f"{'minute':>6} {'ops':>6} {'ops/s':>6} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}  "
          + " ".join(f"{name[:12]:>12}" for name in names), flush=True)
    rows, started, sent, skipped = [], time.monotonic(), 0, 0
    next_report = started + 60
    end = started + minutes * 60
    while (now := time.monotonic()) < end:
        due = int((now - started) * rate)
        while sent < due:
            try:
                tickets.put_nowait(OPERATIONS[sent % len(OPERATIONS)])
            except queue.Full:
                skipped += 1  # the stack cannot keep up: the rate is not met, and we say so
            sent += 1
        if now >= next_report or now + 0.05 >= end:
            timings, errors, done = workload.take_minute()
            elapsed = 60 if now >= next_report else now - (next_report - 60)
            memory = {name: rss_mb(pid) for name, pid in processes(stack.process.pid).items()}
            row = {"minute": len(rows) + 1, "ops": done, "rate": done / elapsed,
                   "p50": statistics.median(timings) * 1000 if timings else None,
                   "p99": timings[int(len(timings) * 0.99)] * 1000 if timings else None,
                   "errors": dict(errors), "rss": memory}
            rows.append(row)
            print(f"{row['minute']:>6} {done:>6} {row['rate']:>6.1f} "
                  f"{row['p50'] or 0:>7.1f} {row['p99'] or 0:>7.1f} {sum(errors.values()):>6}  "
                  + " ".join(f"{memory.get(name) or 0:>12.1f}" for name in names), flush=True)
            if errors:
                print(f"       errors: {dict(errors)}", flush=True)
            next_report += 60
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join(timeout=35)
    if skipped:
        print(f"[soak] {skipped} operations were not sent: the clients were all busy", flush=True)
    growth = {name: (rows[-1]["rss"].get(name) or 0) - (rows[0]["rss"].get(name) or 0)
              for name in names}
    print("[soak] RSS change from the first to the last minute (MB): "
          + ", ".join(f"{name} {change:+.1f}" for name, change in growth.items()), flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 10)))
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    databases = PostgresDatabases(POSTGRES)
    try:
        with tempfile.TemporaryDirectory(prefix="deskflow-soak-") as workdir:
            with running_stack(RabbitManager(RABBIT_API), databases, Path(workdir)) as stack:
                soak(stack, args.minutes, args.rate, args.concurrency)
    finally:
        databases.drop_all()


if __name__ == "__main__":
    main()
