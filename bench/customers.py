"""Customer creates and reads through the gateway, beside the same calls made straight over
RPC, in one run against the real processes on PostgreSQL: ``make bench``.

Both sides run at the same fixed concurrency; each caller thread has its own HTTP session
or its own RPC client. The figure that matters is the ratio (this machine is noisy).
Options: ``--calls N`` per phase (default 1000), ``--concurrency C`` (default 8).
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from nameko.testing.rabbit import Client as RabbitManager  # noqa: E402

from tests.support.customers import customer_payload  # noqa: E402
from tests.support.databases import PostgresDatabases  # noqa: E402
from tests.support.stack import running_stack  # noqa: E402

RABBIT_API = os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def measure(label: str, calls: int, concurrency: int, make_caller) -> dict:
    """Run ``calls`` calls over ``concurrency`` threads; each thread builds its own caller."""
    per_thread = [calls // concurrency + (i < calls % concurrency) for i in range(concurrency)]
    bar = tqdm(total=calls, desc=label, unit="call", leave=False)

    def work(count):
        caller, timings = make_caller(), []
        for n in range(count):
            started = time.perf_counter()
            caller(n)
            timings.append(time.perf_counter() - started)
            bar.update()
        return timings

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        timings = [t for chunk in pool.map(work, per_thread) for t in chunk]
    elapsed = time.perf_counter() - started
    bar.close()
    timings.sort()
    return {"label": label, "calls": calls, "rate": calls / elapsed,
            "p50": statistics.median(timings) * 1000,
            "p99": timings[min(len(timings) - 1, int(len(timings) * 0.99))] * 1000}


def http_caller(stack, token, operation, ids):
    def make():
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        prefix = uuid.uuid4().hex[:8]

        def create(n):
            response = session.post(f"{stack.base_url}/api/v1/customers", timeout=30,
                                    json=customer_payload(name=f"Bench HTTP {prefix} {n}"))
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])

        def read(n):
            response = session.get(f"{stack.base_url}/api/v1/customers/{ids[n % len(ids)]}", timeout=30)
            assert response.status_code == 200, response.text

        return create if operation == "create" else read
    return make


def rpc_caller(amqp_uri, operation, ids, clients):
    def make():
        client = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30,
                                 context_data={"actor": "bench"})
        clients.append(client)
        rpc = client.start()
        prefix = uuid.uuid4().hex[:8]

        def create(n):
            ids.append(rpc.customers.create(customer_payload(name=f"Bench RPC {prefix} {n}"))["id"])

        def read(n):
            rpc.customers.get(ids[n % len(ids)])

        return create if operation == "create" else read
    return make


def report(results: list[dict]) -> None:
    print(f"\n{'phase':<16}{'calls':>7}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for row in results:
        print(f"{row['label']:<16}{row['calls']:>7}{row['rate']:>9.0f}{row['p50']:>9.1f}{row['p99']:>9.1f}")
    by_label = {row["label"]: row for row in results}
    for operation in ("create", "read"):
        http, rpc = by_label[f"gateway {operation}"], by_label[f"rpc {operation}"]
        print(f"{operation}: gateway/rpc throughput ratio {http['rate'] / rpc['rate']:.2f}, "
              f"p50 overhead {http['p50'] - rpc['p50']:+.1f} ms")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    rabbit, databases = RabbitManager(RABBIT_API), PostgresDatabases(POSTGRES)
    print("starting the stack on PostgreSQL ...", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="deskflow-bench-"))
    try:
        with running_stack(rabbit, databases, workdir) as stack:
            results = run_phases(stack, args.calls, args.concurrency)
    finally:
        databases.drop_all()
    print(f"concurrency {args.concurrency}, {args.calls} calls per phase, "
          f"{os.cpu_count()} cores shared by broker, database, services, gateway and callers")
    report(results)


def run_phases(stack, calls: int, concurrency: int) -> list[dict]:
    """Creates then reads, each through the gateway and then straight over RPC."""
    token = stack.admin().session.headers["Authorization"].split()[1]
    clients, results, http_ids, rpc_ids = [], [], [], []
    try:
        for operation in ("create", "read"):
            results.append(measure(f"gateway {operation}", calls, concurrency,
                                   http_caller(stack, token, operation, http_ids)))
            results.append(measure(f"rpc {operation}", calls, concurrency,
                                   rpc_caller(stack.amqp_uri, operation, rpc_ids, clients)))
    finally:
        for client in clients:
            client.stop()
    return results

if __name__ == "__main__":
    main()
