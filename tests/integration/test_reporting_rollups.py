"""The reporting service's decision figures in a real container on a throwaway vhost and a
fresh PostgreSQL database: trends over the broker, tasks from workflow events, and the
roll-ups, which must give exactly the figures the daily rows give for any range."""
import random
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from services.common.errors import ValidationFailed
from services.common.events import make_envelope
from services.reporting import periods, reports, store
from services.reporting.models import DailyCount, DurationHistogram
from services.reporting.simulate import EventStream
from tests.integration.test_reporting_service import (  # noqa: F401 (fixtures)
    NOW, RANGE, at, clock, config, database, known_history, service, wait_for_log,
)
from tests.support.services import call, publish


def test_trends_over_the_broker(service, known_history):
    daily = call(service, "trend", {"metric": "tickets.created", "interval": "day",
                                    "from": "2026-11-04", "to": "2026-11-07"})
    assert daily == {"metric": "tickets.created", "interval": "day",
                     "points": [{"period": "2026-11-04", "value": 0},
                                {"period": "2026-11-05", "value": 1},
                                {"period": "2026-11-06", "value": 1},
                                {"period": "2026-11-07", "value": 0}]}
    revenue = call(service, "trend", {"metric": "revenue", "interval": "week", **RANGE})
    assert revenue["points"] == [{"period": "2026-10-26", "value": 600000.0},
                                 {"period": "2026-11-02", "value": 120000.0},
                                 {"period": "2026-11-09", "value": 0.0},
                                 {"period": "2026-11-16", "value": 0.0}]
    nps = call(service, "trend", {"metric": "nps", "interval": "month", **RANGE})
    assert nps["points"] == [{"period": "2026-11-01", "value": 0.0}]
    sla = call(service, "trend", {"metric": "sla.compliance", "interval": "day",
                                  "from": "2026-11-05", "to": "2026-11-06"})
    assert [point["value"] for point in sla["points"]] == [1.0, 0.0]


@pytest.mark.parametrize("query, field", [
    ({"metric": "tickets.reopened"}, "metric"),
    ({"metric": "nps", "interval": "hour"}, "interval"),
    ({"metric": "nps", "range": "quarter", "to": "2026-11-01"}, "range"),
])
def test_bad_trend_queries_are_refused(service, query, field):
    with pytest.raises(ValidationFailed) as refused:
        call(service, "trend", query)
    assert field in refused.value.details["fields"]


def test_named_ranges_follow_the_clock(service, known_history):
    assert call(service, "summary", {"range": "quarter"})["range"] == {
        "from": "2026-10-01", "to": "2026-11-20"}
    year = call(service, "summary", {"range": "year"})
    assert year["range"] == {"from": "2026-01-01", "to": "2026-11-20"}
    assert year["tickets"]["created"] == 5  # C4-001 of October too


def task(event_type, task_id, assignee, moment, **fields):
    snapshot = {"id": task_id, "title": "Call back", "assignee": assignee,
                "created_at": moment.isoformat(),
                "due_at": (moment + timedelta(days=1)).isoformat(), "completed_at": None,
                "state": "open", **fields}
    return make_envelope(event_type, {"task": snapshot}, "workflow", "test", moment)


def test_tasks_from_workflow_events_by_assignee(service, config, database):
    events = [task("task.created", 1, "li", at(3)), task("task.created", 2, "li", at(3)),
              task("task.created", 3, "wang", at(4)),
              task("task.completed", 1, "li", at(5), completed_at=at(5).isoformat()),
              task("task.overdue", 2, "li", at(4, 9))]
    publish(config["AMQP_URI"], *events, events[0])  # one delivered twice
    wait_for_log(database, len(events))
    assert call(service, "summary", RANGE)["tasks"] == {
        "created": 3, "done": 1, "overdue": 1,
        "by_assignee": {"li": {"created": 2, "done": 1, "overdue": 1},
                        "wang": {"created": 1, "done": 0, "overdue": 0}}}


# --- the roll-ups are exact ----------------------------------------------------------------

def random_history(rng) -> list[dict]:
    """About 400 days of customers, conversions, follow-ups, tickets and ratings."""
    stream = EventStream()
    first = NOW - timedelta(days=420)
    for number in range(40):
        customer_id = f"C{number}"
        stream.create_customer(customer_id, first + timedelta(days=rng.uniform(0, 30)),
                               type=rng.choice(("prospect", "intent")),
                               industry=rng.choice(("TECH", "MFG")),
                               owner=rng.choice(("li", "wang")))
        if rng.random() < 0.5:
            stream.convert(customer_id, first + timedelta(days=rng.uniform(31, 419)),
                           amount=round(rng.uniform(1000, 900000), 2))
        for _ in range(3):
            stream.log_followup(customer_id, first + timedelta(days=rng.uniform(0, 419)),
                                rng.choice(("positive", "neutral", "negative")))
        for ticket in range(8):
            ticket_id = f"{customer_id}-{ticket:03d}"
            created = first + timedelta(days=rng.uniform(31, 419))
            stream.create_ticket(ticket_id, customer_id, created,
                                 rng.choice(("presales", "aftersales")),
                                 rng.choice(("inquiry", "complaint", "need")))
            done = created + timedelta(seconds=rng.lognormvariate(9, 1.5))
            stream.stop_clock(ticket_id, "first_response", created + timedelta(minutes=5), 300,
                              state="in_progress")
            stream.stop_clock(ticket_id, "resolution", done, (done - created).total_seconds(),
                              met=rng.random() < 0.7, state="done")
            stream.rate(ticket_id, done + timedelta(hours=1), rng.randint(1, 5),
                        rng.randint(0, 10))
    return stream.envelopes


def from_daily_rows(session, start: date, end: date) -> tuple[dict, dict, dict]:
    """The figures of a range summed straight from the daily rows (the reference)."""
    counts = {(metric, dimension, value): int(n) for metric, dimension, value, n in session.execute(
        select(DailyCount.metric, DailyCount.dimension, DailyCount.value, func.sum(DailyCount.n))
        .where(DailyCount.day.between(start, end))
        .group_by(DailyCount.metric, DailyCount.dimension, DailyCount.value)) if n}
    durations = {}
    for clock_name, seconds, n in session.execute(
            select(DurationHistogram.clock, DurationHistogram.seconds,
                   func.sum(DurationHistogram.n))
            .where(DurationHistogram.period == "day",
                   DurationHistogram.start.between(start, end))
            .group_by(DurationHistogram.clock, DurationHistogram.seconds)):
        if n:
            durations.setdefault(clock_name, []).append((seconds, int(n)))
    months = Counter()
    for day, n in session.execute(select(DailyCount.day, DailyCount.n).where(
            DailyCount.metric == "revenue.cents", DailyCount.dimension == "all",
            DailyCount.day.between(start, end))):
        months[periods.month_of(day)] += n
    return counts, durations, {month: n for month, n in months.items() if n}


def test_the_rollups_give_exactly_the_figures_of_the_daily_rows(service, database):
    rng = random.Random(13)
    with database() as session:
        envelopes = random_history(rng)
        for first in range(0, len(envelopes), 500):  # in batches, as the rebuild replays
            reports.apply_events(session, [reports.event_of(e) for e in envelopes[first:first + 500]])
        session.commit()
        today = NOW.date()
        ranges = [(today - timedelta(days=364), today), (today - timedelta(days=29), today),
                  (date(2026, 1, 1), date(2026, 6, 30)), (date(2025, 12, 31), date(2026, 3, 1))]
        ranges += [sorted((today - timedelta(days=rng.randint(0, 420)),
                           today - timedelta(days=rng.randint(0, 420)))) for _ in range(20)]
        for start, end in ranges:
            figures = store.read_figures(session, start, end, NOW)
            counts, durations, months = from_daily_rows(session, start, end)
            assert {key: n for key, n in figures.counts.items() if n} == counts, (start, end)
            assert {clock_name: sorted(rows) for clock_name, rows in figures.durations.items()} \
                == {clock_name: sorted(rows) for clock_name, rows in durations.items()}
            assert figures.revenue_by_month == months
        assert counts  # the history is not empty
