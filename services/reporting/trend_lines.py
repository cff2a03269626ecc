"""The series behind the exports' line charts: tickets created, revenue and average
satisfaction per week (ranges up to 92 days) or per month (longer ranges), from the same
trend points as ``GET /api/v1/reports/trend`` (:mod:`services.reporting.trends`)."""
from datetime import date

from services.reporting import store, trends
from services.reporting.periods import MONTH, WEEK

WEEKLY_UP_TO_DAYS = 92
# (trend metric, heading key, figure kind)
LINES = (("tickets.created", "trend_tickets_created", "count"),
         ("revenue", "trend_revenue", "money"),
         ("satisfaction.average", "trend_satisfaction", "score"))


def interval_of(start: date, end: date) -> str:
    return MONTH if (end - start).days + 1 > WEEKLY_UP_TO_DAYS else WEEK


def series(session, start: date, end: date) -> list[dict]:
    """``[{key, interval, kind, points: [[period, value]]}]``, one per line chart."""
    interval = interval_of(start, end)
    counters = tuple({key for metric, _, _ in LINES for key in trends.counters_of(metric)})
    daily = store.daily_counters(session, counters, start, end)
    lines = []
    for metric, key, kind in LINES:
        points = trends.trend(metric, interval, start, end, daily)["points"]
        lines.append({"key": key, "interval": interval, "kind": kind,
                      "points": [[point["period"], point["value"]] for point in points]})
    return lines
