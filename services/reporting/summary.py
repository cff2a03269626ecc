"""The summary of a range (SPEC §5, issues 5 and 13) from the figures the store read: plain
Python over counters, no SQL."""
from dataclasses import dataclass, field
from datetime import date, datetime

from services.customer.domain import lifecycle_status, months_before
from services.reporting.domain import (
    AGEING, ALL, APPROVED, CATEGORIES, CHANNELS, CLOCKS, COOPERATE_AGAIN, CUSTOMER_TYPES, GRADES,
    INDUSTRIES, NO_SOURCE, OPEN_STATES, OUTCOMES, PAIR, PRIORITIES, SERVICE_TYPES, SOURCES,
    STATUS_LABELS, STATUSES, SURVEY_SCORES, TICKET_STATES, TIMED_CLOCKS, VALUE_TIERS, quantile,
)
from services.reporting.periods import day_of, default_range  # noqa: F401 (re-exported)

RATE_PLACES = 4
TOP_CATEGORIES = 10
# Lifecycle status thresholds in calendar months (SPEC §2), as the customer service has them.
DORMANT_AFTER_MONTHS, CHURNED_AFTER_MONTHS = 3, 6


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, RATE_PLACES) if whole else None


def money(cents: int) -> float:
    return round(cents / 100, 2)


@dataclass(frozen=True)
class Figures:
    """What the store read for a range: the inputs of :func:`summarise`."""

    start: date
    end: date
    current: dict          # {(dimension, value): n}
    counts: dict           # {(metric, dimension, value): n} summed over the range
    pre_deal_at_start: int  # customers that were prospect/intent when the range began
    durations: dict        # {clock: [(bucket, n)]} summed over the range
    ageing: dict           # {label: n} of the open tickets
    # (last activity, approved?) of the customers last active on a status boundary day
    boundary_activity: list = field(default_factory=list)
    now: datetime | None = None
    revenue_by_month: dict = field(default_factory=dict)  # {first day of month: cents}


# --- lifecycle status without a row per customer -------------------------------------------

def status_cutoff_days(now: datetime) -> tuple[date, date]:
    """The UTC days on which the active/dormant and dormant/churned boundaries fall: only
    customers last active on those days need their exact moment to be classified."""
    return (day_of(months_before(now, DORMANT_AFTER_MONTHS)),
            day_of(months_before(now, CHURNED_AFTER_MONTHS)))


def status_counts(activity_days: dict, boundary_moments: list, now: datetime) -> dict:
    """``{status: n}`` from the customers' last activity counted by UTC day
    (``{iso day: n}``) and, for the customers last active on a boundary day, their exact
    last activity moments."""
    dormant_day, churned_day = status_cutoff_days(now)
    counts = {status: 0 for status in STATUSES}
    for day_text, n in activity_days.items():
        day = date.fromisoformat(day_text)
        if day in (dormant_day, churned_day):
            continue
        status = ("active" if day > dormant_day else
                  "dormant" if day > churned_day else "churned")
        counts[status] += n
    for moment in boundary_moments:
        counts[lifecycle_status(moment, now)] += 1
    return counts


# --- the sections --------------------------------------------------------------------------

class Counters(dict):
    """Counters keyed by tuples, grouped once by all but their last element, so reading one
    dimension does not walk every counter (the summary reads a few dozen)."""

    def __init__(self, source: dict):
        super().__init__(source)
        self.groups = {}
        for key, n in source.items():
            group = self.groups.setdefault(key[:-1], {})
            group[key[-1]] = group.get(key[-1], 0) + n


def _by(source: Counters, prefix_key, keys: tuple) -> dict:
    """``{value: n}`` for one dimension, every known key present, unknown ones appended."""
    return {**{key: 0 for key in keys}, **source.groups.get(tuple(prefix_key), {})}


def _satisfaction(counts: dict, dimension: str, value: str) -> dict:
    def get(metric):
        return counts.get((metric, dimension, value), 0)

    n, with_nps = get("ratings.count"), get("ratings.nps_count")
    return {"count": n, "average": rate(get("ratings.score_sum"), n),
            "csat": rate(get("ratings.satisfied"), n),
            "nps": rate(get("ratings.promoters") - get("ratings.detractors"), with_nps)}


def _satisfaction_by(counts: dict, dimension: str, keys: tuple) -> dict:
    values = list(keys) + sorted({key[2] for key in counts if key[0] == "ratings.count"
                                  and key[1] == dimension and key[2] not in keys})
    return {value: _satisfaction(counts, dimension, value) for value in values}


def _sla(counts: dict) -> dict:
    result = {}
    for clock in CLOCKS:
        met = counts.get(("sla.met", "clock", clock), 0)
        breached = counts.get(("sla.breached", "clock", clock), 0)
        result[clock] = {"met": met, "breached": breached, "compliance": rate(met, met + breached)}
    return result


def _times(durations: dict) -> dict:
    return {f"{clock}_seconds": {"median": quantile(durations.get(clock, []), 0.5),
                                 "p90": quantile(durations.get(clock, []), 0.9)}
            for clock in TIMED_CLOCKS}


def _revenue(counts: Counters, by_month: dict) -> dict:
    def by(dimension: str, keys: tuple = ()) -> dict:
        return {value: money(n) for value, n in
                _by(counts, ("revenue.cents", dimension), keys).items()}

    return {"total": money(counts.get(("revenue.cents", ALL, ALL), 0)),
            "deals": counts.get(("revenue.deals", ALL, ALL), 0),
            "by_customer_type": by("customer_type", CUSTOMER_TYPES),
            "by_industry": by("industry", INDUSTRIES),
            "by_owner": {owner: amount for owner, amount in sorted(by("owner").items()) if amount},
            "by_month": {month.isoformat()[:7]: money(n)
                         for month, n in sorted(by_month.items())}}


def _followups_by_owner(counts: dict) -> dict:
    made = _by(counts, ("followups", "owner"), ())
    positive = _by(counts, ("followups.positive", "owner"), ())
    return {owner: {"count": n, "success_rate": rate(positive.get(owner, 0), n)}
            for owner, n in sorted(made.items())}


def top_categories(counts: dict, limit: int = TOP_CATEGORIES) -> list[dict]:
    """The most frequent category × service type pairs of the tickets created in the range,
    most frequent first (ties by category, then service type)."""
    pairs = [(n, *value.split("|", 1)) for (metric, dimension, value), n in counts.items()
             if metric == "tickets.created" and dimension == PAIR and n]
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    return [{"category": category, "service_type": service_type, "count": n}
            for n, category, service_type in pairs[:limit]]


def _feedback(counts: dict) -> dict:
    def get(metric, dimension=ALL, value=ALL):
        return counts.get((metric, dimension, value), 0)

    answers = _by(counts, ("survey.cooperate_again", "answer"), COOPERATE_AGAIN)
    answered = sum(answers.values())
    return {
        "by_channel": _by(counts, ("tickets.created", "channel"), CHANNELS + (NO_SOURCE,)),
        "by_department": _by(counts, ("tickets.created", "department"), ()),
        "late_entries": get("tickets.late_entry"),
        **{name: rate(get(f"survey.{name}_sum"), get(f"survey.{name}_count"))
           for name in SURVEY_SCORES},
        "would_cooperate_again": {"answered": answered,
                                  **{answer: rate(n, answered) for answer, n in answers.items()}},
        "top_categories": top_categories(counts),
    }


def _tasks(counts: dict) -> dict:
    metrics = {"created": "tasks.created", "done": "tasks.done", "overdue": "tasks.overdue"}
    assignees = sorted({value for (metric, dimension, value) in counts
                        if metric in metrics.values() and dimension == "assignee"})
    return {**{name: counts.get((metric, ALL, ALL), 0) for name, metric in metrics.items()},
            "by_assignee": {assignee: {name: counts.get((metric, "assignee", assignee), 0)
                                       for name, metric in metrics.items()}
                            for assignee in assignees}}


def _statuses(figures: Figures, current: Counters, prefix: str) -> dict:
    if figures.now is None:
        return {status: 0 for status in STATUSES}
    activity_days = {value: n for value, n in
                     current.groups.get((prefix + "customer.activity_day",), {}).items() if n}
    moments = [moment for moment, approved in figures.boundary_activity
               if approved or not prefix]
    return status_counts(activity_days, moments, figures.now)


def summarise(figures: Figures, approved_only: bool = False) -> dict:
    """The summary of one range; ``approved_only`` counts only approved customers in the
    customer mix (review, issue 11)."""
    counts, current = Counters(figures.counts), Counters(figures.current)
    prefix = APPROVED if approved_only else ""
    by_type = _by(current, (prefix + "customer.type",), CUSTOMER_TYPES)
    followups = _by(counts, ("followups", "outcome"), OUTCOMES)
    pre_deal = figures.pre_deal_at_start + counts.get(("pre_deal.entered", ALL, ALL), 0)
    by_state = _by(current, ("ticket.state",), TICKET_STATES)
    return {
        "range": {"from": figures.start.isoformat(), "to": figures.end.isoformat()},
        "customers": {
            "total": sum(by_type.values()),
            "new": counts.get(("customers.created", ALL, ALL), 0),
            "by_type": by_type,
            "by_grade": _by(current, (prefix + "customer.grade",), GRADES),
            "by_industry": _by(current, (prefix + "customer.industry",), INDUSTRIES),
            "by_source": _by(current, (prefix + "customer.source",), SOURCES + (NO_SOURCE,)),
            "by_status": _statuses(figures, current, prefix),
            "by_value_tier": _by(current, (prefix + "customer.value_tier",), VALUE_TIERS),
            "converted": counts.get(("customers.converted", ALL, ALL), 0),
            "conversion_rate": rate(counts.get(("customers.converted", ALL, ALL), 0), pre_deal),
        },
        "revenue": _revenue(counts, figures.revenue_by_month),
        "followups": {"total": sum(followups.values()), "by_outcome": followups,
                      "success_rate": rate(followups["positive"], sum(followups.values())),
                      "by_owner": _followups_by_owner(counts)},
        "tickets": {
            "created": counts.get(("tickets.created", ALL, ALL), 0),
            "by_state": by_state,
            "by_service_type": _by(counts, ("tickets.created", "service_type"), SERVICE_TYPES),
            "by_category": _by(counts, ("tickets.created", "category"), CATEGORIES),
            "by_priority": _by(counts, ("tickets.created", "priority"), PRIORITIES),
            "by_status_label": _by(current, ("ticket.status_label",), STATUS_LABELS),
            "by_channel": _by(counts, ("tickets.created", "channel"), CHANNELS + (NO_SOURCE,)),
            "by_department": _by(counts, ("tickets.created", "department"), ()),
            "late_entries": counts.get(("tickets.late_entry", ALL, ALL), 0),
        },
        "feedback": _feedback(counts),
        "satisfaction": {
            **_satisfaction(counts, ALL, ALL),
            "by_service_type": _satisfaction_by(counts, "service_type", SERVICE_TYPES),
            "by_customer_type": _satisfaction_by(counts, "customer_type", CUSTOMER_TYPES),
        },
        "sla": _sla(counts),
        "times": _times(figures.durations),
        "tasks": _tasks(counts),
        "backlog": {"open": sum(by_state.get(state, 0) for state in OPEN_STATES),
                    "ageing": {label: figures.ageing.get(label, 0) for label, _, _ in AGEING}},
    }
