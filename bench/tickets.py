"""Where the CPU of a ticket goes: ticket creates through the gateway on PostgreSQL and on
SQLite, beside the same calls straight over RPC and beside a monolith doing the same work in
one transaction (``bench/monolith.py``), in one run: ``make bench``.

For each backend: customer creates (gateway, monolith), ticket creates spread over those
customers (gateway, RPC, monolith), ``GET /tickets/<id>``, and an open-loop phase at a fixed
offered rate followed by the time the consumers take to drain. A create phase ends when
every consumer has caught up (the reporting read model holds every ticket made and no event
queue holds a message); its CPU is counted up to that moment, per process, from ``/proc``:
the gateway (gunicorn and its worker), each service, the broker (a private RabbitMQ node, so
no other user's load is counted), the PostgreSQL backends serving the run's databases, the
monolith. Phases alternate (A B B A…) and a fixed pure-Python probe loop is timed before
each, since this machine's speed drifts; medians and same-run ratios are what to read.

Options: ``--tickets N`` per create phase (default 300), ``--customers N`` per customer
phase (default 150), ``--gets N`` (default 1000), ``--concurrency C`` (default 16),
``--rate R`` and ``--burst S`` for the open loop (50/s for 30 s), ``--idle S`` (seconds
of no traffic first, to show each process's background CPU; default 10), ``--backends``
(``postgres,sqlite``), ``--shared-broker`` (count the shared broker's CPU instead of
starting a private node), ``--json PATH`` (every figure, for comparing runs),
``--profile DIR`` (one more gateway ticket phase under py-spy; its top frames per process).
"""
import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kombu import Connection  # noqa: E402
from nameko.exceptions import RpcTimeout  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from nameko.testing.rabbit import Client as RabbitManager  # noqa: E402
from tqdm import tqdm  # noqa: E402

from bench.customers import measure  # noqa: E402
from bench.monolith import Monolith  # noqa: E402
from bench.profiles import Profiler, report as profile_report  # noqa: E402
from bench.procs import (  # noqa: E402
    CpuMeter, PostgresBackends, probe_ms, shared_broker_pids, stack_processes, tree,
)
from services.common.config import DEFAULTS, SERVICE_NAMES, sqlite_url  # noqa: E402
from tests.support.customers import customer_payload  # noqa: E402
from tests.support.databases import PostgresDatabases  # noqa: E402
from tests.support.private import PrivateRabbit, private_workdir  # noqa: E402
from tests.support.stack import running_stack  # noqa: E402

RABBIT_API = os.environ.get("RABBIT_API_URI", "http://guest:guest@127.0.0.1:15672")
POSTGRES = os.environ.get("TEST_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
CATCH_UP_SECONDS = 600
RETRY_PAUSE_SECONDS = 0.5
TARGETS = {  # issue 15, on this 2-core machine
    "cpu_ms": {"postgres": 20, "sqlite": 15}, "rate": 100, "vs_monolith": 0.5,
    "open_p99_ms": 150, "drain_s": 5, "get_rate": 400, "customer_rate": 120,
}


def ticket_body(customer_id: str, n: int) -> dict:
    return {"customer_id": customer_id, "service_type": "aftersales", "category": "inquiry",
            "priority": "medium", "title": f"Bench ticket {n}"}


# --- callers: each thread of a phase builds its own ---------------------------------------

RETRIES = Counter()  # answers a careful client retries (503, 409 in_progress), by status


def http_caller(base_url: str, token: str, method: str, path_of, body_of=None, keep=None):
    """``method path_of(n)`` with ``body_of(n)``; a POST carries an Idempotency-Key, as a
    careful client's does, and is retried with it after a 503 (an overloaded machine makes
    RPCs time out); ``keep`` collects the created ids."""
    def make():
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"

        def call(n):
            headers = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}
            path, body = path_of(n), body_of(n) if body_of else None
            while True:
                response = session.request(method, base_url + path, headers=headers,
                                           json=body, timeout=60)
                if not _retryable(response):
                    break
                RETRIES[response.status_code] += 1
                time.sleep(RETRY_PAUSE_SECONDS)
            assert response.status_code in (200, 201), response.text
            if keep is not None:
                keep.append(response.json()["id"])
        return call
    return make


def _retryable(response) -> bool:
    if response.status_code == 503:
        return True
    return response.status_code == 409 and \
        response.json().get("error", {}).get("code") == "in_progress"


def rpc_caller(amqp_uri: str, clients: list, body_of, keep: list):
    """``tickets.create`` straight over RPC, with the context the gateway would send; after
    a timeout, again under the same idempotency key on a new client (as the gateway's
    pool replaces a client that timed out)."""
    def make():
        def connect():
            client = ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=60,
                                     context_data={"actor": "admin", "actor_role": "admin"})
            clients.append(client)
            return client, client.start()
        current = list(connect())

        def call(n):
            key, body = uuid.uuid4().hex, body_of(n)
            while True:
                client, proxy = current
                client._worker_ctx.data["idempotency_key"] = key
                try:
                    keep.append(proxy.tickets.create(body)["id"])
                    return
                except RpcTimeout:
                    RETRIES["rpc timeout"] += 1
                    current[:] = connect()
        return call
    return make


# --- knowing when the consumers have caught up ---------------------------------------------

class CatchUp:
    """Whether the stack's consumers have applied everything: the reporting read model holds
    ``expected`` customers and tickets and every event queue is empty."""

    def __init__(self, stack, reporting_url: str, management_uri: str):
        self.engine = create_engine(reporting_url)
        self.amqp_uri = stack.amqp_uri
        vhost = stack.env["DESKFLOW_TEST_VHOST"]
        self.queues = [queue["name"] for queue in requests.get(
            f"{management_uri}/api/queues/{vhost}", timeout=10).json()
            if queue["name"].startswith("evt-")]
        self.expected = {"customer_states": 0, "ticket_states": 0}

    def counts(self) -> dict:
        with self.engine.connect() as connection:
            return {table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                    for table in self.expected}

    def queued(self) -> int:
        with Connection(self.amqp_uri) as connection:
            channel = connection.channel()
            return sum(channel.queue_declare(queue=name, passive=True).message_count
                       for name in self.queues)

    def done(self) -> bool:
        return self.counts() == self.expected and self.queued() == 0

    def wait(self) -> float:
        started = time.perf_counter()
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while not self.done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"consumers did not catch up: {self.counts()} of "
                                   f"{self.expected}, {self.queued()} queued")
            time.sleep(0.05)
        return time.perf_counter() - started


# --- phases ---------------------------------------------------------------------------------

def phase(label: str, calls: int, concurrency: int, make_caller, meter: CpuMeter,
          settle=None) -> dict:
    """Run the calls; then ``settle()`` (wait for the consumers); CPU counted throughout."""
    probe = probe_ms()
    measurement, started = meter.measuring(), time.perf_counter()
    row = measure(label, calls, concurrency, make_caller)
    row["settle_s"] = settle() if settle else 0.0
    used = measurement.stop()
    row["seconds"] = time.perf_counter() - started
    row["cpu_ms"] = {name: seconds * 1000 / calls for name, seconds in sorted(used.items())}
    row["cpu_total_ms"] = sum(row["cpu_ms"].values())
    row["probe_ms"] = probe
    print(f"  {label:<22}{row['rate']:>7.1f}/s  p50 {row['p50']:6.1f} ms  p99 {row['p99']:6.1f}"
          f" ms  caught up +{row['settle_s']:.1f} s  CPU {row['cpu_total_ms']:.1f} ms/op  "
          f"probe {probe:.0f} ms", flush=True)
    return row


def net_of_idle(row: dict, idle_ms_per_s: dict) -> float:
    """CPU ms per op less what the same processes burn idle over the phase's length: the
    figure a busier run (where the background is spread over more ops) tends to."""
    if "monolith" in row["cpu_ms"]:
        return row["cpu_total_ms"]  # the idle phase measured the stack, not the monolith
    background = sum(idle_ms_per_s.get(name, 0.0) for name in row["cpu_ms"])
    return row["cpu_total_ms"] - background * row["seconds"] / row["calls"]


def idle(meter: CpuMeter, seconds: float) -> dict:
    """CPU ms per second each process of the stack uses with no traffic at all (timers,
    relays, pollers): part of every per-ticket figure at a low rate."""
    measurement = meter.measuring()
    time.sleep(seconds)
    used = {name: used * 1000 / seconds for name, used in sorted(measurement.stop().items())}
    print("  idle: CPU ms per second " + ", ".join(f"{name} {ms:.1f}" for name, ms in
                                                  used.items())
          + f"; sum {sum(used.values()):.1f}", flush=True)
    return used


def open_loop(label: str, rate: float, seconds: float, make_caller, meter: CpuMeter,
              settle) -> dict:
    """``rate`` calls a second for ``seconds`` whatever the answers' pace; latency counts
    from each call's scheduled moment, so a queue building up shows."""
    total = int(rate * seconds)
    local, latencies = threading.local(), []
    bar = tqdm(total=total, desc=label, unit="call", leave=False)

    def run(due):
        if not hasattr(local, "call"):
            local.call = make_caller()
        local.call(0)
        latencies.append(time.perf_counter() - due)
        bar.update()

    probe = probe_ms()
    measurement = meter.measuring()
    start = time.perf_counter()
    with ThreadPoolExecutor(64) as pool:
        for n in range(total):
            due = start + n / rate
            time.sleep(max(0.0, due - time.perf_counter()))
            pool.submit(run, due)
    bar.close()
    drain = settle()
    used = measurement.stop()
    latencies.sort()
    row = {"label": label, "calls": total, "offered": rate, "probe_ms": probe,
           "p50": statistics.median(latencies) * 1000,
           "p99": latencies[min(total - 1, int(total * 0.99))] * 1000, "drain_s": drain,
           "cpu_ms": {name: s * 1000 / total for name, s in sorted(used.items())}}
    row["cpu_total_ms"] = sum(row["cpu_ms"].values())
    print(f"  {label:<22}{rate:>7.0f}/s offered  p50 {row['p50']:6.1f} ms  p99 "
          f"{row['p99']:6.1f} ms  drained {drain:.1f} s after the burst  "
          f"CPU {row['cpu_total_ms']:.1f} ms/op", flush=True)
    return row


def alternate(a, b, c=None) -> list:
    """A B B A (or A B C C B A): each side's two runs straddle the others'."""
    order = [a, b] + ([c, c, b] if c else [b]) + [a]
    return [run() for run in order]


def run_backend(backend: str, args, rabbit_api: str, broker: str, databases) -> dict:
    workdir = Path(tempfile.mkdtemp(prefix=f"deskflow-bench-{backend}-"))
    # The background rounds at a deployment's pace, not the test stack's faster one (a
    # metrics refresh every second tripled the idle CPU of every service and the broker).
    extra = {name: DEFAULTS[name] for name in ("OUTBOX_RELAY_SECONDS", "METRICS_REFRESH_SECONDS")}
    print(f"\n== {backend}: starting the stack and the monolith ...", flush=True)
    rabbit = RabbitManager(rabbit_api)
    with running_stack(rabbit, databases, workdir, backend, broker, **extra) as stack, \
            Monolith(backend, workdir, databases) as mono:
        urls = {name: stack.env.get(f"{name.upper()}_DATABASE_URL")
                or sqlite_url(workdir / "data", name) for name in SERVICE_NAMES}
        pg_names = [url.rsplit("/", 1)[1] for url in urls.values() if url.startswith("postgres")]
        broker_source = shared_broker_pids if args.shared_broker else \
            (lambda: tree(args.broker_pid, "rabbitmq"))
        stack_meter = CpuMeter(lambda: stack_processes(stack.process.pid), broker_source,
                               PostgresBackends(POSTGRES, pg_names))
        mono_meter = CpuMeter(lambda: tree(mono.process.pid, "monolith"),
                              PostgresBackends(POSTGRES, mono.pg_names))
        catch_up = CatchUp(stack, urls["reporting"], rabbit_api)
        token = stack.admin().session.headers["Authorization"].split()[1]
        results = run_phases(args, stack, mono, token, stack_meter, mono_meter, catch_up)
        if args.profile:
            results["profile"] = profiled(backend, args, stack, token, stack_meter, catch_up)
        return results


def profiled(backend: str, args, stack, token, meter, catch_up) -> list[str]:
    """One more gateway ticket (or, with ``--profile-customers``, customer) phase, not in
    the medians, with py-spy on every process of the stack; the top frames of each."""
    customers = [body["id"] for body in requests.get(
        f"{stack.base_url}/api/v1/customers", params={"per_page": 100}, timeout=30,
        headers={"Authorization": f"Bearer {token}"}).json()["items"]]
    profiler = Profiler(args.profile, stack_processes(stack.process.pid), backend)
    kind, calls = "customer" if args.profile_customers else "ticket", args.tickets

    def settled():
        catch_up.expected[f"{kind}_states"] += calls
        return catch_up.wait()
    if args.profile_customers:
        caller = http_caller(stack.base_url, token, "POST", lambda _: "/api/v1/customers",
                             lambda _: customer_payload(name=f"Bench {uuid.uuid4().hex}"))
    else:
        caller = http_caller(stack.base_url, token, "POST", lambda _: "/api/v1/tickets",
                             lambda i: ticket_body(customers[i % len(customers)], i))
    phase(f"profiled {kind}", calls, args.concurrency, caller, meter, settled)
    return profile_report(profiler.stop())


def run_phases(args, stack, mono, token, stack_meter, mono_meter, catch_up) -> dict:
    c, n, conc = args.customers, args.tickets, args.concurrency
    stack_customers, mono_customers, stack_tickets, mono_tickets, clients = [], [], [], [], []
    names = iter(range(10**9))

    def customer_phase(base_url, bearer, keep, meter, label, settle=None):
        def settled():
            catch_up.expected["customer_states"] += c
            return catch_up.wait()
        return lambda: phase(label, c, conc, http_caller(
            base_url, bearer, "POST", lambda _: "/api/v1/customers",
            lambda _: customer_payload(name=f"Bench {uuid.uuid4().hex[:12]} {next(names)}"),
            keep), meter, settled if settle else None)

    def ticket_phase(label, make, meter, settle):
        def settled():
            catch_up.expected["ticket_states"] += n
            return catch_up.wait()
        return lambda: phase(label, n, conc, make, meter, settled if settle else None)

    results = {"idle": idle(stack_meter, args.idle)}
    results["customers"] = alternate(
        customer_phase(stack.base_url, token, stack_customers, stack_meter, "gateway customer",
                       settle=True),
        customer_phase(mono.base_url, mono.token, mono_customers, mono_meter,
                       "monolith customer"))
    on_stack = lambda i: ticket_body(stack_customers[i % len(stack_customers)], i)  # noqa: E731
    on_mono = lambda i: ticket_body(mono_customers[i % len(mono_customers)], i)  # noqa: E731
    try:
        results["tickets"] = alternate(
            ticket_phase("gateway ticket", http_caller(
                stack.base_url, token, "POST", lambda _: "/api/v1/tickets", on_stack,
                stack_tickets), stack_meter, True),
            ticket_phase("rpc ticket", rpc_caller(stack.amqp_uri, clients, on_stack,
                                                  stack_tickets), stack_meter, True),
            ticket_phase("monolith ticket", http_caller(
                mono.base_url, mono.token, "POST", lambda _: "/api/v1/tickets", on_mono,
                mono_tickets), mono_meter, False))
    finally:
        for client in clients:
            client.stop()
    pick = random.Random(15)
    results["gets"] = alternate(
        lambda: phase("gateway GET ticket", args.gets, conc, http_caller(
            stack.base_url, token, "GET",
            lambda _: f"/api/v1/tickets/{pick.choice(stack_tickets)}"), stack_meter),
        lambda: phase("monolith GET ticket", args.gets, conc, http_caller(
            mono.base_url, mono.token, "GET",
            lambda _: f"/api/v1/tickets/{pick.choice(mono_tickets)}"), mono_meter))

    def open_settle():
        catch_up.expected["ticket_states"] += int(args.rate * args.burst)
        return catch_up.wait()
    results["open"] = open_loop("gateway open loop", args.rate, args.burst, http_caller(
        stack.base_url, token, "POST", lambda _: "/api/v1/tickets",
        lambda _: on_stack(next(names)), None), stack_meter, open_settle)
    return results


# --- the report ---------------------------------------------------------------------------

def _median(rows: list[dict], label: str, key: str) -> float:
    return statistics.median(row[key] for row in rows if row["label"] == label)


def _cpu_by_process(rows: list[dict], label: str) -> dict:
    chosen = [row for row in rows if row["label"] == label]
    names = sorted({name for row in chosen for name in row["cpu_ms"]})
    return {name: statistics.median(row["cpu_ms"].get(name, 0.0) for row in chosen)
            for name in names}


def summarise(backend: str, results: dict) -> dict:
    tickets, gets, customers = results["tickets"], results["gets"], results["customers"]
    probes = [row["probe_ms"] for rows in (tickets, gets, customers) for row in rows]
    summary = {"backend": backend, "probe_ms": statistics.median(probes)}
    for name, rows, label in (("gateway", tickets, "gateway ticket"),
                              ("rpc", tickets, "rpc ticket"),
                              ("monolith", tickets, "monolith ticket"),
                              ("get", gets, "gateway GET ticket"),
                              ("monolith_get", gets, "monolith GET ticket"),
                              ("customer", customers, "gateway customer"),
                              ("monolith_customer", customers, "monolith customer")):
        summary[name] = {"rate": _median(rows, label, "rate"), "p50": _median(rows, label, "p50"),
                         "p99": _median(rows, label, "p99"),
                         "cpu_ms": _cpu_by_process(rows, label),
                         "cpu_total_ms": _median(rows, label, "cpu_total_ms"),
                         "cpu_net_ms": statistics.median(
                             net_of_idle(row, results["idle"]) for row in rows
                             if row["label"] == label)}
    summary["open"] = results["open"]
    summary["idle"] = results["idle"]
    summary["profile"] = results.get("profile", [])
    return summary


def report(summary: dict, args) -> list[str]:
    backend, lines = summary["backend"], []
    out = lines.append
    out(f"\n== {backend}: concurrency {args.concurrency}, {args.tickets} tickets and "
        f"{args.customers} customers per phase, medians of two phases each; probe loop "
        f"median {summary['probe_ms']:.0f} ms")
    out(f"{'what':<22}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPU ms/op':>11}"
        f"{'less idle':>11}")
    for name in ("gateway", "rpc", "monolith", "customer", "monolith_customer", "get",
                 "monolith_get"):
        row = summary[name]
        out(f"{name:<22}{row['rate']:>8.1f}{row['p50']:>9.1f}{row['p99']:>9.1f}"
            f"{row['cpu_total_ms']:>11.1f}{row['cpu_net_ms']:>11.1f}")
    gateway, mono, rpc = summary["gateway"], summary["monolith"], summary["rpc"]
    out("CPU ms per ticket created through the gateway, consumers caught up: " + ", ".join(
        f"{name} {ms:.1f}" for name, ms in sorted(gateway["cpu_ms"].items(),
                                                  key=lambda item: -item[1]))
        + f"; sum {gateway['cpu_total_ms']:.1f}")
    out(f"ratios: gateway/monolith tickets/s {gateway['rate'] / mono['rate']:.2f}, "
        f"gateway/rpc {gateway['rate'] / rpc['rate']:.2f}, CPU per ticket gateway/monolith "
        f"{gateway['cpu_total_ms'] / mono['cpu_total_ms']:.1f}x, GET gateway/monolith "
        f"{summary['get']['rate'] / summary['monolith_get']['rate']:.2f}")
    out("idle, CPU ms per second: " + ", ".join(
        f"{name} {ms:.1f}" for name, ms in summary["idle"].items())
        + f"; sum {sum(summary['idle'].values()):.1f}")
    opened = summary["open"]
    out(f"open loop {opened['offered']:.0f}/s for {args.burst:.0f} s: p50 {opened['p50']:.1f} ms, "
        f"p99 {opened['p99']:.1f} ms, consumers drained {opened['drain_s']:.1f} s after the "
        f"burst, CPU {opened['cpu_total_ms']:.1f} ms/ticket")
    checks = [("CPU per ticket ms", gateway["cpu_total_ms"], TARGETS["cpu_ms"][backend], "<=")]
    if backend == "postgres":
        checks += [("tickets/s via gateway", gateway["rate"], TARGETS["rate"], ">="),
                   ("gateway/monolith", gateway["rate"] / mono["rate"],
                    TARGETS["vs_monolith"], ">=")]
    checks += [("open-loop p99 ms", opened["p99"], TARGETS["open_p99_ms"], "<="),
               ("drain s", opened["drain_s"], TARGETS["drain_s"], "<="),
               ("GET ticket req/s", summary["get"]["rate"], TARGETS["get_rate"], ">="),
               ("customer creates/s", summary["customer"]["rate"], TARGETS["customer_rate"], ">=")]
    out("targets: " + "; ".join(
        f"{what} {value:.1f} {sign} {goal} {'met' if _met(value, sign, goal) else 'MISSED'}"
        for what, value, goal, sign in checks))
    if summary["profile"]:
        kind = "customer" if args.profile_customers else "ticket"
        out(f"py-spy, a profiled gateway {kind} phase on {backend} (share of samples):")
        lines.extend(summary["profile"])
    return lines


def _met(value: float, sign: str, goal: float) -> bool:
    return value <= goal if sign == "<=" else value >= goal


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=300)
    parser.add_argument("--customers", type=int, default=150)
    parser.add_argument("--gets", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--burst", type=float, default=30)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--shared-broker", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--idle", type=float, default=10)
    parser.add_argument("--profile", type=Path, help="py-spy every process of the stack "
                        "in one more gateway ticket phase; collapsed stacks go here")
    parser.add_argument("--profile-customers", action="store_true",
                        help="the profiled phase creates --tickets customers instead of tickets")
    args = parser.parse_args(argv)
    databases = PostgresDatabases(POSTGRES)
    private = None
    try:
        if args.shared_broker:
            rabbit_api, broker = RABBIT_API, "127.0.0.1:5672"
        else:
            print("starting a private RabbitMQ node (its CPU is the broker's figure) ...",
                  flush=True)
            private = PrivateRabbit(private_workdir(), f"bench{uuid.uuid4().hex[:6]}")
            private.start()
            rabbit_api, broker, args.broker_pid = (private.management_uri, private.address,
                                                   private.process.pid)
        summaries = [summarise(backend, run_backend(backend, args, rabbit_api, broker, databases))
                     for backend in args.backends.split(",")]
    finally:
        databases.drop_all()
        if private is not None:
            private.shutdown()
    print(f"\n{os.cpu_count()} cores shared by broker, database, services, gateway, monolith "
          f"and the callers (and whatever else runs on this machine); answers retried: "
          f"{dict(RETRIES) or 'none'}")
    for summary in summaries:
        print("\n".join(report(summary, args)))
    if args.json:
        args.json.write_text(json.dumps(summaries, indent=1, default=str))


if __name__ == "__main__":
    main()
