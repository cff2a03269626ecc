"""Trends: one figure per day, week or month over a range, computed from the daily counters
the read model keeps (plain Python; :func:`services.reporting.reports.trend_points` reads the
counters and calls :func:`trend`). The exports draw their line charts from the same points."""
from collections import defaultdict
from datetime import date

from services.reporting.domain import ALL, CLOCKS
from services.reporting.periods import INTERVALS, period_of, periods
from services.reporting.summary import money, rate


def _n(metric: str, dimension: str = ALL, value: str = ALL):
    return (metric, dimension, value)


_SLA_MET = tuple(_n("sla.met", "clock", clock) for clock in CLOCKS)
_SLA_BREACHED = tuple(_n("sla.breached", "clock", clock) for clock in CLOCKS)
_RATINGS = tuple(_n(f"ratings.{name}") for name in
                 ("count", "score_sum", "satisfied", "nps_count", "promoters", "detractors"))
_FOLLOWUPS = tuple(_n("followups", "outcome", outcome) for outcome in
                   ("positive", "neutral", "negative"))


def _total(keys):
    return lambda get: sum(get(key) for key in keys)


# metric → (the daily counters it reads, its value from those counters summed over a period)
METRICS = {
    "tickets.created": ((_n("tickets.created"),), lambda get: get(_n("tickets.created"))),
    "customers.new": ((_n("customers.created"),), lambda get: get(_n("customers.created"))),
    "customers.converted": ((_n("customers.converted"),),
                            lambda get: get(_n("customers.converted"))),
    "revenue": ((_n("revenue.cents"),), lambda get: money(get(_n("revenue.cents")))),
    "followups.total": (_FOLLOWUPS, _total(_FOLLOWUPS)),
    "followups.success_rate": (_FOLLOWUPS, lambda get: rate(get(_FOLLOWUPS[0]),
                                                            _total(_FOLLOWUPS)(get))),
    "satisfaction.average": (_RATINGS, lambda get: rate(get(_n("ratings.score_sum")),
                                                        get(_n("ratings.count")))),
    "satisfaction.csat": (_RATINGS, lambda get: rate(get(_n("ratings.satisfied")),
                                                     get(_n("ratings.count")))),
    "nps": (_RATINGS, lambda get: rate(get(_n("ratings.promoters")) - get(_n("ratings.detractors")),
                                       get(_n("ratings.nps_count")))),
    "sla.compliance": (_SLA_MET + _SLA_BREACHED,
                       lambda get: rate(_total(_SLA_MET)(get),
                                        _total(_SLA_MET + _SLA_BREACHED)(get))),
    "tasks.created": ((_n("tasks.created"),), lambda get: get(_n("tasks.created"))),
    "tasks.done": ((_n("tasks.done"),), lambda get: get(_n("tasks.done"))),
}


def counters_of(metric: str) -> tuple:
    """The ``(metric, dimension, value)`` daily counters a trend metric reads."""
    return METRICS[metric][0]


def trend(metric: str, interval: str, start: date, end: date, daily: dict) -> dict:
    """``{metric, interval, points: [{period, value}]}``: one point per day, week (starting
    Monday) or calendar month that ``[start, end]`` touches, ``period`` being its first day
    (ISO); the first and last periods hold only the days inside the range. ``daily`` is
    ``{(day, metric, dimension, value): n}`` for the days of the range. Counts are 0 and
    rates ``null`` where a period has nothing."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}")
    keys, value_of = METRICS[metric]
    sums = defaultdict(int)
    for (day, *key), n in daily.items():
        if start <= day <= end and tuple(key) in keys:
            sums[(period_of(day, interval), tuple(key))] += n
    return {"metric": metric, "interval": interval,
            "points": [{"period": period.isoformat(),
                        "value": value_of(lambda key, p=period: sums.get((p, key), 0))}
                       for period in periods(start, end, interval)]}
