"""The task reminder sweep over 10,000 and over 1,000,000 open tasks, few of them due, in one
run on PostgreSQL: ``.venv/bin/python bench/reminder_sweep.py``.

The sweep is the service's own (:func:`services.workflow.tasks.sweep_reminders`, with its
real query). Tasks are bulk-inserted with ``generate_series``, all open and due far ahead;
the same few are made due at each size, and each timing is the median of repeated sweeps
(the due tasks are made due again between repetitions). Options: ``--small``, ``--large``,
``--due``, ``--repeat``.
"""
import argparse
import sys
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from sqlalchemy import text  # noqa: E402

from bench import sweeps  # noqa: E402
from bench.workflow_db import unit_of_work, workflow_database  # noqa: E402
from services.common.clock import ManualClock  # noqa: E402
from services.workflow import tasks  # noqa: E402

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
CHUNK = 100_000

# Open tasks due 30 days ahead: their next check (due soon) is 29 days and 23 hours ahead.
INSERT_TASKS = """
INSERT INTO tasks (id, title, assignee, priority, due_at, state, source, created_by,
                   created_at, updated_at, next_check_at, version)
SELECT g, 'Benchmark task ' || g, 'agent' || (g % 50), 'medium',
       CAST(:now AS timestamptz) + interval '30 days', 'open', 'manual', 'bench',
       CAST(:now AS timestamptz), CAST(:now AS timestamptz),
       CAST(:now AS timestamptz) + interval '30 days' - interval '1 hour', 1
FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) AS g
"""
# The few due tasks: past due, owing their overdue reminder.
MAKE_DUE = """
UPDATE tasks SET due_at = :due, next_check_at = :due, due_soon_sent_at = NULL,
       overdue_sent_at = NULL
WHERE id IN (SELECT g FROM generate_series(1, CAST(:due_count AS integer)) AS g)
"""


def make_due(session_factory, due_count: int) -> None:
    with session_factory() as session:
        session.execute(text(MAKE_DUE), {"due": NOW - timedelta(seconds=1), "due_count": due_count})
        session.execute(text("DELETE FROM outbox"))
        session.commit()


def sweep_once(session_factory, options) -> int:
    uow = unit_of_work(session_factory, ManualClock(NOW))
    try:
        return tasks.sweep_reminders(uow, options)
    finally:
        uow.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args(argv)
    with workflow_database() as (session_factory, options):
        results = {}
        for size, first in ((args.small, 1), (args.large, args.small + 1)):
            print(f"{size:,} open tasks: inserting…", flush=True)
            sweeps.insert(session_factory, [INSERT_TASKS], first, size, CHUNK, "tasks", now=NOW)
            print(f"{size:,} open tasks: sweeping {args.repeat}× with {args.due} due…", flush=True)
            results[size] = sweeps.time_sweeps(lambda: make_due(session_factory, args.due),
                                               lambda: sweep_once(session_factory, options),
                                               args.due, args.repeat)
        plan = sweeps.index_plan(session_factory, tasks.due_tasks_query(NOW, tasks.SWEEP_BATCH),
                                 "next_check_at")
        print(f"query plan at {args.large:,}: {plan}")
    sweeps.report("open tasks", results, args.due)

if __name__ == "__main__":
    main()
