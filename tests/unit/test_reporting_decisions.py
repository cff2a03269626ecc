"""The decision figures of issue 13 without I/O: revenue by signing day and who/what signed
it, the lifecycle status read from activity days, follow-ups by owner, the survey's answers,
the top category × service type pairs, tasks by assignee, trends, named ranges and how a
range splits into months, weeks and days."""
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from services.common.errors import ValidationFailed
from services.common.schemas import load_or_422
from services.reporting import domain, periods, summary as summaries, trends
from services.reporting.reports import event_of
from services.reporting.schemas import SummaryQuerySchema, TrendQuerySchema
from services.reporting.simulate import EventStream

T = datetime(2026, 11, 10, 9, 0, tzinfo=timezone.utc)
DAY = T.date()


def aggregate(envelopes) -> domain.Aggregator:
    aggregator = domain.Aggregator()
    for envelope in envelopes:
        aggregator.apply(*event_of(envelope))
    return aggregator


def in_range(counts: Counter) -> dict:
    """The counters summed over every day, as the store hands them to the summary."""
    summed = Counter()
    for (_day, *key), n in counts.items():
        summed[tuple(key)] += n
    return dict(summed)


def figures(aggregator, **overrides) -> summaries.Figures:
    values = {"start": date(2026, 1, 1), "end": date(2026, 12, 31),
              "current": dict(aggregator.current), "counts": in_range(aggregator.counts),
              "pre_deal_at_start": 0, "durations": {}, "ageing": {}}
    return summaries.Figures(**{**values, **overrides})


# --- revenue -------------------------------------------------------------------------------

def revenue_stream() -> EventStream:
    stream = EventStream()
    stream.create_customer("C1", T, type="prospect", industry="MFG", owner="li")
    stream.create_customer("C2", T, type="deal", industry="TECH", owner="wang",
                           deal_amount=600000.5, deal_product="Plan", signed_date="2026-11-05")
    stream.create_customer("C3", T, type="prospect", industry="TECH", owner="li")
    stream.convert("C1", T + timedelta(days=2), amount=120000.25)
    stream.convert("C3", T + timedelta(days=3), amount=80000)
    stream.update_customer("C3", T + timedelta(days=4), type="churned")
    return stream


def test_revenue_counts_each_deal_on_its_signing_day_by_its_current_type_industry_owner():
    report = summaries.summarise(figures(aggregate(revenue_stream().envelopes)))
    assert report["revenue"] == {
        "total": 800000.75, "deals": 3,
        "by_customer_type": {"prospect": 0.0, "intent": 0.0, "deal": 720000.75,
                             "churned": 80000.0},
        "by_industry": {"TECH": 680000.5, "MFG": 120000.25, "RETAIL": 0.0, "SVC": 0.0,
                        "FIN": 0.0, "EDU": 0.0, "GOV": 0.0, "OTHER": 0.0},
        "by_owner": {"li": 200000.25, "wang": 600000.5},
        "by_month": {}}
    assert report["customers"]["by_value_tier"] == {"high": 1, "mid": 1, "potential": 1}


def test_a_changed_amount_moves_the_revenue_and_a_deleted_customer_takes_it_away():
    stream = revenue_stream()
    stream.update_customer("C2", T + timedelta(days=5), deal_amount=100000,
                           signed_date="2026-11-06")
    stream.delete_customer("C1", T + timedelta(days=6))
    counts = {key: n for key, n in aggregate(stream.envelopes).counts.items()
              if n and key[1] == "revenue.cents" and key[2] == "all"}
    assert counts == {(date(2026, 11, 6), "revenue.cents", "all", "all"): 10000000,
                      (date(2026, 11, 13), "revenue.cents", "all", "all"): 8000000}


def test_revenue_does_not_depend_on_the_order_events_arrive_in():
    envelopes = revenue_stream().envelopes
    in_order = aggregate(envelopes)
    shuffled = aggregate([envelopes[i] for i in (5, 0, 3, 1, 4, 2)])
    assert ({k: n for k, n in in_order.counts.items() if n and k[1].startswith("revenue")}
            == {k: n for k, n in shuffled.counts.items() if n and k[1].startswith("revenue")})


# --- lifecycle status ----------------------------------------------------------------------

def test_status_counts_classify_whole_days_and_the_boundary_days_by_the_moment():
    now = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
    # boundaries: 2026-08-26 12:00 (active/dormant) and 2026-05-26 12:00 (dormant/churned)
    activity_days = {"2026-11-01": 2, "2026-08-27": 1, "2026-08-26": 2, "2026-08-25": 1,
                     "2026-05-27": 1, "2026-05-26": 1, "2026-01-01": 3}
    boundary = [datetime(2026, 8, 26, 13, tzinfo=timezone.utc),
                datetime(2026, 8, 26, 11, tzinfo=timezone.utc),
                datetime(2026, 5, 26, 11, tzinfo=timezone.utc)]
    assert summaries.status_counts(activity_days, boundary, now) == {
        "active": 4, "dormant": 3, "churned": 4}


def test_ticket_activity_and_followups_move_a_customers_last_activity_forward_only():
    stream = EventStream()
    stream.create_customer("C1", T)
    stream.create_ticket("C1-001", "C1", T + timedelta(days=40))
    stream.log_followup("C1", T + timedelta(days=20))
    aggregator = aggregate(stream.envelopes)
    assert aggregator.customers["C1"].last_activity_at == T + timedelta(days=40)
    assert {key: n for key, n in aggregator.current.items()
            if key[0] == "customer.activity_day" and n} == {
        ("customer.activity_day", (DAY + timedelta(days=40)).isoformat()): 1}


# --- follow-ups, feedback, tasks -----------------------------------------------------------

def test_followups_by_owner_with_their_success_rate():
    stream = EventStream()
    stream.create_customer("C1", T)
    for outcome in ("positive", "negative", "positive"):
        stream.log_followup("C1", T, outcome)
    report = summaries.summarise(figures(aggregate(stream.envelopes)))
    assert report["followups"]["by_owner"] == {"sales": {"count": 3, "success_rate": 0.6667}}


def test_survey_answers_and_the_ten_most_frequent_category_service_type_pairs():
    stream = EventStream()
    stream.create_customer("C1", T)
    number = 0
    pairs = [(category, service_type) for category in domain.CATEGORIES[:5]
             for service_type in domain.SERVICE_TYPES[:3]]  # 15 pairs
    for index, (category, service_type) in enumerate(pairs):
        for _ in range(1 + index % 4):  # counts 1,2,3,4,1,2,...
            number += 1
            stream.create_ticket(f"C1-{number:03d}", "C1", T, service_type, category)
    stream.transition("C1-001", "done", T)
    stream.rate("C1-001", T, 5, 9)
    stream.envelopes[-1]["data"]["rating"].update(quality=5, speed=3, effectiveness=4,
                                                  would_cooperate_again="yes")
    stream.transition("C1-002", "done", T)
    stream.rate("C1-002", T, 2, 3)
    stream.envelopes[-1]["data"]["rating"].update(quality=2, speed=None, effectiveness=3,
                                                  would_cooperate_again="no")
    stream.transition("C1-003", "done", T)
    stream.rate("C1-003", T, 4)
    stream.envelopes[-1]["data"]["rating"].update(would_cooperate_again="maybe")
    feedback = summaries.summarise(figures(aggregate(stream.envelopes)))["feedback"]
    assert (feedback["quality"], feedback["speed"], feedback["effectiveness"]) == (3.5, 3.0, 3.5)
    assert feedback["would_cooperate_again"] == {"answered": 3, "yes": 0.3333, "maybe": 0.3333,
                                                 "no": 0.3333}
    fours = [pair for index, pair in enumerate(pairs) if index % 4 == 3]
    threes = [pair for index, pair in enumerate(pairs) if index % 4 == 2]
    twos = [pair for index, pair in enumerate(pairs) if index % 4 == 1]
    expected = ([(c, s, 4) for c, s in sorted(fours)] + [(c, s, 3) for c, s in sorted(threes)]
                + [(c, s, 2) for c, s in sorted(twos)])[:10]
    assert [(p["category"], p["service_type"], p["count"])
            for p in feedback["top_categories"]] == expected


def task_envelope(event_type, task_id, assignee, at, **fields):
    from services.common.events import make_envelope
    task = {"id": task_id, "assignee": assignee, "created_at": at.isoformat(),
            "due_at": (at + timedelta(days=1)).isoformat(), "completed_at": None, **fields}
    return make_envelope(event_type, {"task": task}, "workflow", "test", at)


def test_tasks_created_done_and_overdue_by_assignee():
    envelopes = [task_envelope("task.created", 1, "li", T),
                 task_envelope("task.created", 2, "li", T),
                 task_envelope("task.created", 3, "wang", T),
                 task_envelope("task.completed", 1, "li", T,
                               completed_at=(T + timedelta(hours=3)).isoformat()),
                 task_envelope("task.overdue", 2, "li", T + timedelta(days=1))]
    tasks = summaries.summarise(figures(aggregate(envelopes)))["tasks"]
    assert tasks == {"created": 3, "done": 1, "overdue": 1,
                     "by_assignee": {"li": {"created": 2, "done": 1, "overdue": 1},
                                     "wang": {"created": 1, "done": 0, "overdue": 0}}}


# --- trends --------------------------------------------------------------------------------

def test_a_weekly_trend_has_a_point_per_week_touched_and_empty_weeks_are_zero_or_null():
    daily = {(date(2026, 11, 2), "tickets.created", "all", "all"): 2,
             (date(2026, 11, 8), "tickets.created", "all", "all"): 1,
             (date(2026, 11, 17), "tickets.created", "all", "all"): 4,
             (date(2026, 11, 30), "tickets.created", "all", "all"): 9,  # outside the range
             (date(2026, 10, 27), "tickets.created", "all", "all"): 5,  # before it, same week
             (date(2026, 11, 2), "ratings.count", "all", "all"): 2,
             (date(2026, 11, 2), "ratings.score_sum", "all", "all"): 7}
    start, end = date(2026, 11, 1), date(2026, 11, 20)
    assert trends.trend("tickets.created", "week", start, end, daily)["points"] == [
        {"period": "2026-10-26", "value": 0}, {"period": "2026-11-02", "value": 3},
        {"period": "2026-11-09", "value": 0}, {"period": "2026-11-16", "value": 4}]
    assert [point["value"] for point in trends.trend(
        "satisfaction.average", "week", start, end, daily)["points"]] == [None, 3.5, None, None]


def test_monthly_revenue_nps_and_sla_compliance_trends():
    daily = {(date(2026, 1, 31), "revenue.cents", "all", "all"): 150,
             (date(2026, 3, 1), "revenue.cents", "all", "all"): 100000,
             (date(2026, 3, 2), "ratings.nps_count", "all", "all"): 4,
             (date(2026, 3, 2), "ratings.promoters", "all", "all"): 3,
             (date(2026, 3, 3), "ratings.detractors", "all", "all"): 1,
             (date(2026, 3, 4), "sla.met", "clock", "resolution"): 3,
             (date(2026, 3, 5), "sla.breached", "clock", "first_response"): 1}
    start, end = date(2026, 1, 15), date(2026, 3, 31)
    assert trends.trend("revenue", "month", start, end, daily) == {
        "metric": "revenue", "interval": "month",
        "points": [{"period": "2026-01-01", "value": 1.5}, {"period": "2026-02-01", "value": 0.0},
                   {"period": "2026-03-01", "value": 1000.0}]}
    assert trends.trend("nps", "month", start, end, daily)["points"][2]["value"] == 0.5
    assert trends.trend("sla.compliance", "month", start, end, daily)["points"][2]["value"] == 0.75


@pytest.mark.parametrize("query, field, allowed", [
    ({"metric": "tickets.closed"}, "metric", "satisfaction.average"),
    ({"metric": "nps", "interval": "year"}, "interval", "week"),
    ({"metric": "nps", "range": "decade"}, "range", "quarter"),
    ({"metric": "nps", "range": "year", "from": "2026-01-01"}, "range", "from"),
    ({}, "metric", "Missing"),
])
def test_bad_trend_queries_name_the_field_and_what_is_allowed(query, field, allowed):
    with pytest.raises(ValidationFailed) as refused:
        load_or_422(TrendQuerySchema(), query)
    assert allowed in " ".join(refused.value.details["fields"][field])


def test_a_range_conflicting_with_from_or_to_is_refused():
    for query in ({"range": "30d", "to": "2026-11-01"}, {"range": "quarter", "from": "2026-11-01"}):
        with pytest.raises(ValidationFailed) as refused:
            load_or_422(SummaryQuerySchema(), query)
        assert "range" in refused.value.details["fields"]


# --- ranges and periods --------------------------------------------------------------------

@pytest.mark.parametrize("name, today, expected", [
    ("30d", date(2026, 11, 26), (date(2026, 10, 28), date(2026, 11, 26))),
    ("quarter", date(2026, 11, 26), (date(2026, 10, 1), date(2026, 11, 26))),
    ("quarter", date(2026, 3, 31), (date(2026, 1, 1), date(2026, 3, 31))),
    ("year", date(2026, 11, 26), (date(2026, 1, 1), date(2026, 11, 26))),
])
def test_named_ranges(name, today, expected):
    assert periods.named_range(name, today) == expected


@pytest.mark.parametrize("start, end", [
    ("2025-11-27", "2026-11-26"), ("2026-11-01", "2026-11-30"), ("2026-11-03", "2026-11-04"),
    ("2026-02-02", "2026-03-29"), ("2026-01-01", "2026-12-31"), ("2025-12-29", "2026-02-01"),
])
def test_a_range_splits_into_months_weeks_and_days_covering_each_day_once(start, end):
    start, end = date.fromisoformat(start), date.fromisoformat(end)
    runs = periods.split_range(start, end)
    covered = []
    for period, period_runs in runs.items():
        for low, high in period_runs:
            for first in periods.periods(low, high, period):
                assert periods.period_of(first, period) == first
                last = (periods.next_month(first) - timedelta(days=1) if period == "month"
                        else first + timedelta(days=6 if period == "week" else 0))
                covered += [first + timedelta(days=i) for i in range((last - first).days + 1)]
    assert sorted(covered) == [start + timedelta(days=i) for i in range((end - start).days + 1)]
    if (end - start).days >= 364:
        assert sum(len(periods.periods(low, high, period)) for period, period_runs in runs.items()
                   for low, high in period_runs) <= 12 + 8 + 12


@pytest.mark.parametrize("start, end", [
    ("2026-09-20", "2026-10-10"), ("2025-12-29", "2026-02-01"), ("2026-01-01", "2026-12-31"),
])
def test_no_piece_of_a_range_straddles_two_months(start, end):
    runs = periods.split_range(date.fromisoformat(start), date.fromisoformat(end))
    for low, high in runs["week"]:
        for monday in periods.periods(low, high, "week"):
            assert periods.month_of(monday) == periods.month_of(monday + timedelta(days=6))
