"""The SLA sweep over 2,000 and over 200,000 open tickets, few of them due, in one run on
PostgreSQL: ``.venv/bin/python bench/sla_sweep.py``.

The sweep is the service's own (:func:`services.ticket.sweep.sweep`, with its real query).
Tickets and clocks are bulk-inserted with ``generate_series``; the same few clock cycles are
due at each size, and each timing is the median of repeated sweeps (the due cycles are made
due again between repetitions). Options: ``--small``, ``--large``, ``--due``, ``--repeat``.
"""
import argparse
import os
import statistics
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from services.common.clock import ManualClock  # noqa: E402
from services.common.context import CallContext  # noqa: E402
from services.common.db import make_engine  # noqa: E402
from services.common.outbox import UnitOfWork  # noqa: E402
from services.ticket import models, sweep  # noqa: E402
from tests.support.databases import PostgresDatabases  # noqa: E402

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
CHUNK = 50_000

INSERT_TICKETS = """
INSERT INTO tickets (id, customer_id, service_type, category, priority, title, owner, state,
                     escalated, on_hold, created_by, created_at, updated_at)
SELECT 'BENCH-' || lpad(g::text, 7, '0'), 'BENCH-' || (g % 5000), 'aftersales', 'inquiry',
       'medium', 'Benchmark ticket ' || g, 'agent' || (g % 50), 'pending', false, false,
       'bench', CAST(:now AS timestamptz), CAST(:now AS timestamptz)
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g
"""
# Three clock cycles per ticket, all running and due far in the future.
INSERT_CLOCKS = """
INSERT INTO sla_clocks (ticket_id, clock, cycle, target_seconds, started_at, held_seconds,
                        next_check_at)
SELECT 'BENCH-' || lpad(g::text, 7, '0'), c.clock, 1, c.target, CAST(:now AS timestamptz), 0,
       CAST(:now AS timestamptz) + make_interval(secs => c.target * 0.8)
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g,
     (VALUES ('first_response', 7200), ('resolution', 86400), ('update', 172800)) AS c(clock, target)
"""
# The few due cycles: started long enough ago to owe a warning and a breach.
MAKE_DUE = """
UPDATE sla_clocks SET started_at = :started, next_check_at = :due, warned_at = NULL,
       breached_at = NULL
WHERE clock = 'first_response' AND ticket_id IN (
    SELECT 'BENCH-' || lpad(g::text, 7, '0') FROM generate_series(1, CAST(:due_count AS integer)) AS g)
"""


def insert(session_factory, first: int, last: int) -> None:
    for start in range(first, last + 1, CHUNK):
        end = min(start + CHUNK - 1, last)
        with session_factory() as session:
            params = {"now": NOW, "first": start, "last": end}
            session.execute(text(INSERT_TICKETS), params)
            session.execute(text(INSERT_CLOCKS), params)
            session.commit()
        print(f"  inserted tickets {start:,}–{end:,} (3 clocks each)", flush=True)
    with session_factory() as session:
        session.execute(text("ANALYZE"))
        session.commit()


def make_due(session_factory, due_count: int) -> None:
    with session_factory() as session:
        session.execute(text(MAKE_DUE), {"started": NOW - timedelta(hours=3),
                                         "due": NOW - timedelta(seconds=1), "due_count": due_count})
        session.execute(text("DELETE FROM outbox"))
        session.commit()


def time_sweeps(session_factory, due_count: int, repeat: int) -> tuple[float, float]:
    """Median seconds of a sweep with ``due_count`` cycles due, and of an idle sweep."""
    clock = ManualClock(NOW)
    context = CallContext(request_id=None, actor="bench", actor_role=None)
    busy, idle = [], []
    for _ in range(repeat):
        make_due(session_factory, due_count)
        for timings in (busy, idle):  # the second sweep finds nothing left to do
            uow = UnitOfWork(session_factory, models, "tickets", context, clock)
            started = time.perf_counter()
            swept = sweep.sweep(uow)
            timings.append(time.perf_counter() - started)
            uow.close()
            assert swept == (due_count if timings is busy else 0), swept
    return statistics.median(busy), statistics.median(idle)


def plan(session_factory) -> str:
    with session_factory() as session:
        query = sweep.due_clocks_query(NOW, sweep.SWEEP_BATCH)
        compiled = query.compile(session.bind, compile_kwargs={"literal_binds": True})
        rows = session.execute(text(f"EXPLAIN {compiled}")).scalars().all()
    return next((row.strip() for row in rows if "next_check_at" in row and "Index" in row),
                "no index scan found:\n" + "\n".join(rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--due", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    databases = PostgresDatabases(POSTGRES)
    try:
        engine = make_engine(databases.fresh("ticket"))
        session_factory = sessionmaker(engine, expire_on_commit=False)
        results = {}
        for size, first in ((args.small, 1), (args.large, args.small + 1)):
            print(f"{size:,} open tickets: inserting…", flush=True)
            insert(session_factory, first, size)
            print(f"{size:,} open tickets: sweeping {args.repeat}× with {args.due} due…", flush=True)
            results[size] = time_sweeps(session_factory, args.due, args.repeat)
        print(f"query plan at {args.large:,}: {plan(session_factory)}")
        engine.dispose()
    finally:
        databases.drop_all()
    (small_busy, small_idle), (large_busy, large_idle) = results[args.small], results[args.large]
    print(f"\n{'open tickets':>14} {'sweep, ' + str(args.due) + ' due':>16} {'sweep, none due':>16}")
    for size, (busy, idle) in results.items():
        print(f"{size:>14,} {busy * 1000:>13.1f} ms {idle * 1000:>13.2f} ms")
    print(f"{'ratio':>14} {large_busy / small_busy:>16.2f} {large_idle / small_idle:>16.2f}")


if __name__ == "__main__":
    main()
