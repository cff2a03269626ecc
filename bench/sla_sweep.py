"""The SLA sweep over 2,000 and over 200,000 open tickets, few of them due, in one run on
PostgreSQL: ``.venv/bin/python bench/sla_sweep.py``.

The sweep is the service's own (:func:`services.ticket.sweep.sweep`, with its real query).
Tickets and clocks are bulk-inserted with ``generate_series``; the same few clock cycles are
due at each size, and each timing is the median of repeated sweeps (the due cycles are made
due again between repetitions). Options: ``--small``, ``--large``, ``--due``, ``--repeat``.
"""
import argparse
import os
import sys
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from sqlalchemy import text  # noqa: E402

from bench import sweeps  # noqa: E402
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
CONTEXT = CallContext(request_id=None, actor="bench", actor_role=None)

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


def make_due(session_factory, due_count: int) -> None:
    with session_factory() as session:
        session.execute(text(MAKE_DUE), {"started": NOW - timedelta(hours=3),
                                         "due": NOW - timedelta(seconds=1), "due_count": due_count})
        session.execute(text("DELETE FROM outbox"))
        session.commit()


def sweep_once(session_factory) -> int:
    uow = UnitOfWork(session_factory, models, "tickets", CONTEXT, ManualClock(NOW))
    try:
        return sweep.sweep(uow)
    finally:
        uow.close()


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
            sweeps.insert(session_factory, [INSERT_TICKETS, INSERT_CLOCKS], first, size, CHUNK,
                          "tickets (3 clocks each)", now=NOW)
            print(f"{size:,} open tickets: sweeping {args.repeat}× with {args.due} due…", flush=True)
            results[size] = sweeps.time_sweeps(lambda: make_due(session_factory, args.due),
                                               lambda: sweep_once(session_factory), args.due,
                                               args.repeat)
        plan = sweeps.index_plan(session_factory, sweep.due_clocks_query(NOW, sweep.SWEEP_BATCH),
                                 "next_check_at")
        print(f"query plan at {args.large:,}: {plan}")
        engine.dispose()
    finally:
        databases.drop_all()
    sweeps.report("open tickets", results, args.due)

if __name__ == "__main__":
    main()
