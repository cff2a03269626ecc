"""Reporting rules without I/O: how events move the aggregates, the duration buckets and
quantiles, and the shape of the summary (issue 5 lists its keys)."""
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from services.common.errors import ValidationFailed
from services.common.schemas import load_or_422
from services.reporting import domain, periods, summary as summaries
from services.reporting.reports import event_of
from services.reporting.schemas import SummaryQuerySchema, load_event
from services.reporting.simulate import EventStream

T = datetime(2026, 11, 10, 9, 0, tzinfo=timezone.utc)
DAY = T.date()


def aggregate(envelopes, aggregator=None) -> domain.Aggregator:
    aggregator = aggregator or domain.Aggregator()
    for envelope in envelopes:
        aggregator.apply(*event_of(envelope))
    return aggregator


def nonzero(counter: Counter) -> dict:
    return {key: n for key, n in counter.items() if n}


def days(n: int) -> timedelta:
    return timedelta(days=n)


# --- customers -----------------------------------------------------------------------------

def test_spells_as_prospect_or_intent_and_the_conversions_that_end_them():
    stream = EventStream()
    stream.create_customer("C1", T, type="prospect")
    stream.update_customer("C1", T + days(1), type="intent")    # still the same spell
    stream.convert("C1", T + days(2))                          # converted: the spell ends
    stream.update_customer("C1", T + days(3), type="intent")    # a new spell
    stream.update_customer("C1", T + days(4), type="churned")   # ends without conversion
    stream.create_customer("C2", T, type="deal", deal_amount=1.0)
    stream.create_customer("C3", T, type="prospect")
    stream.delete_customer("C3", T + days(1))
    counts = nonzero(aggregate(stream.envelopes).counts)
    assert {key: n for key, n in counts.items()
            if key[1] != "customers.created" and not key[1].startswith("revenue.")} == {
        (DAY, "pre_deal.entered", "all", "all"): 2,
        (DAY + days(1), "pre_deal.left", "all", "all"): 1,
        (DAY + days(2), "pre_deal.left", "all", "all"): 1,
        (DAY + days(2), "customers.converted", "all", "all"): 1,
        (DAY + days(3), "pre_deal.entered", "all", "all"): 1,
        (DAY + days(4), "pre_deal.left", "all", "all"): 1,
    }
    assert counts[(DAY, "customers.created", "all", "all")] == 3


def test_current_counts_follow_changes_and_deletions():
    stream = EventStream()
    stream.create_customer("C1", T, type="prospect", grade="A", industry="MFG", source="online")
    stream.create_customer("C2", T, type="intent", grade="B", industry="TECH")
    stream.update_customer("C1", T + days(1), grade="B", source=None)
    stream.delete_customer("C2", T + days(2))
    current = nonzero(aggregate(stream.envelopes).current)
    assert {key: n for key, n in current.items() if key[0].startswith("customer.")} == {
        ("customer.type", "prospect"): 1, ("customer.grade", "B"): 1,
        ("customer.industry", "MFG"): 1, ("customer.source", "unspecified"): 1,
        ("customer.value_tier", "potential"): 1, ("customer.activity_day", DAY.isoformat()): 1}


def test_approved_customers_are_counted_again_for_approved_only_summaries():
    stream = EventStream()
    stream.create_customer("OLD", T, type="deal", grade="A")  # from before review: approved
    stream.create_customer("C1", T, type="prospect", review="pending")
    stream.create_customer("C2", T, type="intent", review="pending")
    stream.update_customer("C1", T + days(1), review="approved")
    stream.update_customer("C2", T + days(1), review="approved")
    stream.update_customer("C2", T + days(2), review="pending", phone="13800000000")
    current = nonzero(aggregate(stream.envelopes).current)
    figures = empty_figures(current=current)
    everyone = summaries.summarise(figures)["customers"]
    approved = summaries.summarise(figures, approved_only=True)["customers"]
    assert (everyone["total"], approved["total"]) == (3, 2)
    assert approved["by_type"] == {"prospect": 1, "intent": 0, "deal": 1, "churned": 0}
    assert approved["by_grade"] == {"A": 1, "B": 0, "C": 1}
    assert load_or_422(SummaryQuerySchema(), {"approved_only": "true"})["approved_only"] is True


def test_an_older_snapshot_arriving_late_does_not_undo_a_newer_one():
    stream = EventStream()
    stream.create_customer("C1", T, type="prospect")
    older = stream.update_customer("C1", T + days(1), type="intent")
    newer = stream.convert("C1", T + days(2))
    aggregator = aggregate([stream.envelopes[0], newer, older])
    assert aggregator.customers["C1"].type == "deal"
    assert nonzero(aggregator.current)[("customer.type", "deal")] == 1
    assert ("customer.type", "intent") not in nonzero(aggregator.current)


def test_a_deleted_customer_stays_deleted():
    stream = EventStream()
    stream.create_customer("C1", T)
    late_update = stream.update_customer("C1", T + days(1), grade="A")
    deleted = stream.delete_customer("C1", T + days(2))
    aggregator = aggregate([stream.envelopes[0], deleted, late_update])
    assert aggregator.customers["C1"].deleted
    assert nonzero(aggregator.current) == {}


def test_followups_count_on_the_day_they_happened():
    stream = EventStream()
    stream.create_customer("C1", T)
    stream.log_followup("C1", T - days(3), "positive")
    stream.log_followup("C1", T - days(3), "negative")
    counts = nonzero(aggregate(stream.envelopes[1:]).counts)
    assert counts == {(DAY - days(3), "followups", "outcome", "positive"): 1,
                      (DAY - days(3), "followups", "outcome", "negative"): 1,
                      (DAY - days(3), "followups", "owner", "sales"): 2,
                      (DAY - days(3), "followups.positive", "owner", "sales"): 1}


# --- tickets -------------------------------------------------------------------------------

def ticket_stream() -> EventStream:
    stream = EventStream()
    stream.create_customer("C1", T - days(30), type="intent")
    stream.create_ticket("C1-001", "C1", T, "presales", "complaint", "high")
    return stream


def test_creation_counts_once_by_dimension_on_the_creation_day():
    stream = ticket_stream()
    stream.transition("C1-001", "in_progress", T + days(1))
    counts = nonzero(aggregate(stream.envelopes[1:]).counts)
    assert counts == {(DAY, "tickets.created", "all", "all"): 1,
                      (DAY, "tickets.created", "service_type", "presales"): 1,
                      (DAY, "tickets.created", "category", "complaint"): 1,
                      (DAY, "tickets.created", "priority", "high"): 1,
                      (DAY, "tickets.created", "channel", "unspecified"): 1,
                      (DAY, "tickets.created", "department", "unspecified"): 1,
                      (DAY, "tickets.created", "category_service_type", "complaint|presales"): 1}


def test_the_forms_fields_are_counted_and_the_status_label_follows_the_ticket():
    stream = EventStream()
    stream.create_customer("C1", T - days(30), type="intent")
    stream.create_ticket("C1-001", "C1", T, "aftersales", "other", "low", channel="phone",
                         department="售后服务部", late_entry=True)
    stream.transition("C1-001", "in_progress", T + days(1), status_label="awaiting_customer")
    aggregator = aggregate(stream.envelopes[1:])
    counts = nonzero(aggregator.counts)
    assert counts[(DAY, "tickets.created", "channel", "phone")] == 1
    assert counts[(DAY, "tickets.created", "department", "售后服务部")] == 1
    assert counts[(DAY, "tickets.created", "category", "other")] == 1
    assert counts[(DAY, "tickets.late_entry", "all", "all")] == 1
    assert nonzero(aggregator.current) == {("ticket.state", "in_progress"): 1,
                                           ("ticket.status_label", "awaiting_customer"): 1}


def test_states_converge_whatever_order_the_events_arrive_in():
    stream = ticket_stream()
    stream.transition("C1-001", "in_progress", T + timedelta(minutes=5))
    stream.transition("C1-001", "done", T + timedelta(hours=1))
    created, started, done = stream.envelopes[1:]
    for order in ([created, started, done], [done, created, started], [started, done, created]):
        aggregator = aggregate(order)
        assert nonzero(aggregator.current) == {("ticket.state", "done"): 1,
                                               ("ticket.status_label", "done"): 1}
        assert nonzero(aggregator.counts)[(DAY, "tickets.created", "all", "all")] == 1


def test_a_rating_counts_under_its_service_type_and_the_customers_type_then():
    stream = ticket_stream()
    stream.transition("C1-001", "in_progress", T)
    stream.transition("C1-001", "done", T)
    stream.rate("C1-001", T + days(1), score=4, nps_score=6)
    stream.convert("C1", T + days(2))  # later conversions do not move an earlier rating
    counts = nonzero(aggregate(stream.envelopes).counts)
    rating_day = DAY + days(1)
    for group in (("all", "all"), ("service_type", "presales"), ("customer_type", "intent")):
        assert counts[(rating_day, "ratings.count", *group)] == 1
        assert counts[(rating_day, "ratings.score_sum", *group)] == 4
        assert counts[(rating_day, "ratings.satisfied", *group)] == 1
        assert counts[(rating_day, "ratings.nps_count", *group)] == 1
        assert counts[(rating_day, "ratings.detractors", *group)] == 1
        assert (rating_day, "ratings.promoters", *group) not in counts


def test_a_rating_without_nps_stays_out_of_nps_and_an_unknown_customer_is_unknown():
    stream = ticket_stream()
    stream.rate("C1-001", T, score=2)
    counts = nonzero(aggregate(stream.envelopes[1:]).counts)
    assert counts[(DAY, "ratings.count", "customer_type", "unknown")] == 1
    assert not [key for key in counts if key[1].startswith("ratings.nps")]
    assert not [key for key in counts if key[1] == "ratings.satisfied"]


def test_sla_outcomes_count_breaches_on_their_due_day_and_met_cycles_on_their_stop_day():
    stream = ticket_stream()
    stream.breach("C1-001", "first_response", T + timedelta(minutes=10))
    stream.stop_clock("C1-001", "first_response", T + days(1), 86400, met=False)
    stream.stop_clock("C1-001", "update", T + days(2), 3600, met=True)
    counts = nonzero(aggregate(stream.envelopes[1:]).counts)
    assert counts[(DAY, "sla.breached", "clock", "first_response")] == 1
    assert counts[(DAY + days(2), "sla.met", "clock", "update")] == 1
    assert not [key for key in counts if key[1] == "sla.met" and key[3] == "first_response"]


def test_a_reopened_tickets_resolution_time_is_the_sum_of_its_cycles_counted_once():
    stream = ticket_stream()
    stream.stop_clock("C1-001", "resolution", T + days(1), 60)
    stream.stop_clock("C1-001", "resolution", T + days(3), 30)
    aggregator = aggregate(stream.envelopes[1:])
    assert nonzero(aggregator.durations) == {(DAY + days(3), "resolution", 90): 1}
    assert aggregator.tickets["C1-001"].times["resolution"] == [
        (DAY + days(3)).isoformat(), 90, 90]


def test_update_cycles_have_no_duration():
    stream = ticket_stream()
    stream.stop_clock("C1-001", "update", T + days(1), 60)
    assert nonzero(aggregate(stream.envelopes[1:]).durations) == {}


def test_malformed_events_are_refused_naming_the_fields():
    stream = ticket_stream()
    stream.rate("C1-001", T, score=4)
    rated = stream.envelopes[-1]
    with pytest.raises(ValidationFailed) as refused:
        load_event("ticket.rated", {**rated["data"], "rating": {"score": 9, "at": "soon"}})
    assert set(refused.value.details["fields"]["rating"]) == {"score", "at"}


# --- durations and quantiles ---------------------------------------------------------------

@pytest.mark.parametrize("seconds", [0, 1, 59.9, 60, 99])
def test_short_durations_are_kept_to_the_second(seconds):
    assert domain.duration_bucket(seconds) == int(seconds)


def test_longer_durations_fall_in_buckets_at_most_two_percent_below():
    edges = set()
    for seconds in range(100, 400_000, 7):
        bucket = domain.duration_bucket(seconds)
        assert seconds * 0.98 <= bucket <= seconds
        edges.add(bucket)
    assert domain.duration_bucket(99_999) <= domain.duration_bucket(100_000)
    # Bounded: about 116 buckets per decade, whatever the number of tickets.
    assert len(edges) < 4 * 120


@pytest.mark.parametrize("histogram, fraction, expected", [
    ([], 0.5, None),
    ([(7, 1)], 0.9, 7),
    ([(value, 1) for value in range(1, 11)], 0.5, 5),
    ([(value, 1) for value in range(1, 11)], 0.9, 9),
    ([(30, 1), (10, 2), (20, 1)], 0.5, 10),   # unsorted input, weighted
    ([(10, 1), (20, 1), (30, 1), (40, 1)], 0.9, 40),
])
def test_quantiles_are_nearest_rank(histogram, fraction, expected):
    assert domain.quantile(histogram, fraction) == expected


@pytest.mark.parametrize("start, end, weeks, edges", [
    # 2026-11-02 is a Monday.
    ("2026-11-02", "2026-11-08", ("2026-11-02", "2026-11-02"), []),
    ("2026-11-01", "2026-11-30", ("2026-11-02", "2026-11-23"),
     [("2026-11-01", "2026-11-01"), ("2026-11-30", "2026-11-30")]),
    ("2026-11-04", "2026-11-10", None, [("2026-11-04", "2026-11-10")]),
    ("2026-11-06", "2026-11-06", None, [("2026-11-06", "2026-11-06")]),
])
def test_a_range_splits_into_whole_weeks_and_the_days_around_them(start, end, weeks, edges):
    as_dates = lambda pair: tuple(date.fromisoformat(text) for text in pair)  # noqa: E731
    found_weeks, found_edges = periods.split_into_weeks(*as_dates((start, end)))
    assert found_weeks == (as_dates(weeks) if weeks else None)
    assert found_edges == [as_dates(edge) for edge in edges]
    assert all(periods.week_of(day) == day for day in (found_weeks or ()))


# --- the summary ---------------------------------------------------------------------------

ISSUE_KEYS = {
    "range": {"from", "to"},
    "customers": {"total", "by_type", "by_grade", "by_industry", "by_source", "conversion_rate",
                  "by_status", "by_value_tier"},
    "revenue": {"total", "by_customer_type", "by_industry", "by_owner", "by_month"},
    "followups": {"total", "by_outcome", "success_rate", "by_owner"},
    "feedback": {"by_channel", "by_department", "late_entries", "quality", "speed",
                 "effectiveness", "would_cooperate_again", "top_categories"},
    "tasks": {"created", "done", "overdue", "by_assignee"},
    "tickets": {"created", "by_state", "by_service_type", "by_category", "by_priority"},
    "satisfaction": {"count", "average", "csat", "nps", "by_service_type", "by_customer_type"},
    "sla": {"first_response", "resolution", "update"},
    "times": {"first_response_seconds", "resolution_seconds"},
    "backlog": {"open", "ageing"},
}


def empty_figures(**overrides) -> summaries.Figures:
    values = {"start": date(2026, 11, 1), "end": date(2026, 11, 30), "current": {},
              "counts": {}, "pre_deal_at_start": 0, "durations": {}, "ageing": {}}
    return summaries.Figures(**{**values, **overrides})


def test_the_summary_has_every_key_of_the_issue_and_nothing_to_divide_is_null():
    summary = summaries.summarise(empty_figures())
    assert set(summary) == set(ISSUE_KEYS)
    for section, keys in ISSUE_KEYS.items():
        assert keys <= set(summary[section]), section
    for clock in ("first_response", "resolution", "update"):
        assert summary["sla"][clock] == {"met": 0, "breached": 0, "compliance": None}
    assert summary["times"]["resolution_seconds"] == {"median": None, "p90": None}
    assert summary["backlog"]["ageing"] == {"0-1d": 0, "1-3d": 0, "3-7d": 0, "7d+": 0}
    assert summary["customers"]["by_type"] == {"prospect": 0, "intent": 0, "deal": 0,
                                               "churned": 0}
    assert summary["tickets"]["by_state"] == {"pending": 0, "in_progress": 0, "done": 0,
                                              "closed": 0}
    assert summary["customers"]["conversion_rate"] is None
    assert summary["satisfaction"]["csat"] is None and summary["satisfaction"]["nps"] is None


def test_rates_are_rounded_to_four_places_and_conversion_counts_spells_open_at_the_start():
    counts = {("customers.converted", "all", "all"): 1, ("pre_deal.entered", "all", "all"): 1,
              ("ratings.count", "all", "all"): 3, ("ratings.score_sum", "all", "all"): 13,
              ("ratings.satisfied", "all", "all"): 2, ("ratings.nps_count", "all", "all"): 3,
              ("ratings.promoters", "all", "all"): 1, ("ratings.detractors", "all", "all"): 2,
              ("ratings.count", "customer_type", "unknown"): 3}
    summary = summaries.summarise(empty_figures(counts=counts, pre_deal_at_start=2))
    assert summary["customers"]["conversion_rate"] == 0.3333
    assert summary["satisfaction"]["average"] == 4.3333
    assert summary["satisfaction"]["csat"] == 0.6667
    assert summary["satisfaction"]["nps"] == -0.3333
    assert summary["satisfaction"]["by_customer_type"]["unknown"]["count"] == 3
    assert set(summary["satisfaction"]["by_service_type"]) == set(domain.SERVICE_TYPES)


def test_the_default_range_is_the_last_30_days_today_included():
    assert periods.default_range(date(2026, 11, 30)) == (date(2026, 11, 1), date(2026, 11, 30))


@pytest.mark.parametrize("query, field", [
    ({"from": "2026-11-02", "to": "2026-11-01"}, "from"),
    ({"from": "2026-02-30"}, "from"),
    ({"until": "2026-11-01"}, "until"),
])
def test_bad_queries_name_the_field(query, field):
    with pytest.raises(ValidationFailed) as refused:
        load_or_422(SummaryQuerySchema(), query)
    assert field in refused.value.details["fields"]
