"""Events per second through the workflow rule engine, beside a baseline, in one run on
PostgreSQL: ``.venv/bin/python bench/rule_engine.py``.

Both sides take the same kinds of envelopes, one transaction per event, in process (no
broker): the engine is :func:`services.workflow.learning.handle_events` with the shipped rules
(customer views kept, schedule clocks started and stopped, feedback tasks made, the history
kept for dry runs and late completions); the baseline is what every consumer of ours pays
for an event — validate the envelope, record its id as processed, commit. A mix of
``customer.created``, ``customer.updated`` (grade changes, conversions to deals) and
``ticket.transitioned`` to done. Options: ``--events``.
"""
import argparse
import sys
import time
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

from sqlalchemy import func, select  # noqa: E402

from bench.workflow_db import unit_of_work, workflow_database  # noqa: E402
from services.common.clock import ManualClock  # noqa: E402
from services.common.events import make_envelope, parse_envelope  # noqa: E402
from services.workflow import learning, models, rulebook  # noqa: E402

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def customer(number: int, **fields) -> dict:
    return {"id": f"2026-TECH-{number:05d}", "name": f"Bench {number}", "owner": f"agent{number % 50}",
            "grade": "C", "type": "prospect", "value_tier": "potential", "industry": "TECH",
            "last_activity_at": NOW.isoformat(), **fields}


def envelopes(count: int, first: int = 0) -> list[dict]:
    """Per customer: created, moved to grade A, converted to a deal, a ticket done."""
    made = []
    for number in range(first, first + count // 4):
        at = NOW + timedelta(seconds=number)
        deal = {"type": "deal", "value_tier": "mid", "grade": "A"}
        ticket = {"id": f"2026-TECH-{number:05d}-001", "customer_id": customer(number)["id"],
                  "owner": "agent1", "state": "done", "priority": "medium",
                  "category": "inquiry", "service_type": "aftersales"}
        made += [
            make_envelope("customer.created", {"customer": customer(number)}, "customers", None, at),
            make_envelope("customer.updated", {"customer": customer(number, grade="A"),
                                               "changes": [{"field": "grade"}]}, "customers",
                          None, at + timedelta(milliseconds=1)),
            make_envelope("customer.updated", {"customer": customer(number, **deal),
                                               "changes": [{"field": "type"}]}, "customers",
                          None, at + timedelta(milliseconds=2)),
            make_envelope("ticket.transitioned", {"ticket": ticket, "from": "in_progress",
                                                  "to": "done"}, "tickets", None,
                          at + timedelta(milliseconds=3)),
        ]
    return made


def baseline(uow, _options, payload) -> None:
    envelope = parse_envelope(payload)
    uow.claim("bench", envelope["id"])
    uow.commit()


def rule_engine(uow, options, payload) -> None:
    learning.handle_events(uow, options, [payload])


def run(session_factory, handler, options, events) -> float:
    clock = ManualClock(NOW + timedelta(days=1))
    started = time.perf_counter()
    for payload in events:
        uow = unit_of_work(session_factory, clock)
        try:
            handler(uow, options, payload)
        finally:
            uow.close()
    return len(events) / (time.perf_counter() - started)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=4000)
    args = parser.parse_args(argv)
    with workflow_database() as (session_factory, options):
        uow = unit_of_work(session_factory, ManualClock(NOW))
        rulebook.ensure_defaults(uow)
        uow.close()
        rates = {}
        for name, handler in (("baseline (claim + commit)", baseline),
                              ("rule engine, shipped rules", rule_engine)):
            run(session_factory, handler, options, envelopes(40, first=90_000))  # warm-up
            rates[name] = run(session_factory, handler, options, envelopes(args.events))
            print(f"{name}: {rates[name]:,.0f} events/s", flush=True)
        with session_factory() as session:
            made = session.scalar(select(func.count()).select_from(models.Task))
    low, high = rates.values()
    print(f"\n{args.events:,} events; {made:,} tasks made by the rules")
    print(f"{'':28} {'events/s':>10}")
    for name, rate in rates.items():
        print(f"{name:28} {rate:>10,.0f}")
    print(f"{'engine / baseline':28} {high / low:>10.2f}")


if __name__ == "__main__":
    main()
