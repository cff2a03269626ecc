"""SLA clocks in plain Python: the default policy, business calendars and the arithmetic of
one clock cycle (elapsed time, due moments, status, holds).

A clock cycle is any object with the attributes of :class:`ClockCycle` (the ORM row has
them too). Its elapsed time is the working time since ``started_at`` minus the working time
spent on hold (``held_seconds``, plus the running hold since ``held_since``). With no
calendar every second counts.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

CLOCKS = ("first_response", "resolution", "update")
PAUSED_BY_HOLD = ("resolution", "update")
WARNING_SHARE = 0.8
WARNING, BREACH = "sla_warning", "sla_breached"
STATUSES = ("running", "met", "warning", "breached", "paused")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_CALENDAR_DAYS = 3700  # how far ahead a calendar is searched for working time

# The service times of the feedback rules (000 §2–4): a response within 10 minutes to an
# inquiry or a complaint and within 2 hours otherwise; a solution within 2 hours, or within
# 24 hours for a complex problem; a progress update at least every 48 hours.
DEFAULT_POLICY = {
    "first_response": {"inquiry": 600, "complaint": 600, "default": 7200},
    "resolution": {"default": 7200, "complex": 86400},
    "update": 172800,
}


def resolution_target(resolution: dict, priority: str, complex_: bool) -> int:
    """A complex ticket gets the ``complex`` target; otherwise its priority's target when the
    policy sets one, else ``default``. (A policy stored before ``default`` existed sets all
    three priorities.)"""
    if complex_ and "complex" in resolution:
        return resolution["complex"]
    return resolution.get(priority, resolution.get("default"))


def targets(policy: dict, category: str, priority: str, complex_: bool = False) -> dict:
    """Each clock's target in seconds for a ticket of ``category`` and ``priority``."""
    first = policy["first_response"]
    return {
        "first_response": first.get(category, first["default"]),
        "resolution": resolution_target(policy["resolution"], priority, complex_),
        "update": policy["update"],
    }


@dataclass(frozen=True)
class Calendar:
    """Working hours per weekday (0 = Monday) in a time zone, minus holidays."""

    zone: ZoneInfo
    hours: dict  # weekday -> (opens, closes) as datetime.time
    holidays: frozenset = frozenset()

    @classmethod
    def from_policy(cls, data: dict | None) -> "Calendar | None":
        """The calendar of a policy document (``{"timezone", "hours", "holidays"}``), or None."""
        if not data:
            return None
        hours = {WEEKDAYS.index(day): (time.fromisoformat(span[0]), time.fromisoformat(span[1]))
                 for day, span in data["hours"].items()}
        holidays = frozenset(date.fromisoformat(str(day)) for day in data.get("holidays", ()))
        return cls(ZoneInfo(data["timezone"]), hours, holidays)

    def windows(self, start: datetime):
        """Working periods as UTC ``(opens, closes)`` pairs, from the local day of ``start``."""
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_CALENDAR_DAYS):
            span = self.hours.get(day.weekday())
            if span is not None and day not in self.holidays:
                yield (datetime.combine(day, span[0], self.zone).astimezone(timezone.utc),
                       datetime.combine(day, span[1], self.zone).astimezone(timezone.utc))
            day += timedelta(days=1)


def add_working_time(start: datetime, seconds: float, calendar: Calendar | None) -> datetime:
    """The moment when ``seconds`` of working time have passed since ``start``."""
    if calendar is None:
        return start + timedelta(seconds=seconds)
    remaining = seconds
    for opens, closes in calendar.windows(start):
        begin = max(opens, start)
        if begin >= closes:
            continue
        available = (closes - begin).total_seconds()
        if remaining <= available:
            return begin + timedelta(seconds=remaining)
        remaining -= available
    raise ValueError("the calendar has no working time left")


def working_seconds_between(a: datetime, b: datetime, calendar: Calendar | None) -> float:
    """Working seconds from ``a`` to ``b`` (0 when ``b`` is not after ``a``)."""
    if b <= a:
        return 0.0
    if calendar is None:
        return (b - a).total_seconds()
    total = 0.0
    for opens, closes in calendar.windows(a):
        if opens >= b:
            break
        total += max(0.0, (min(closes, b) - max(opens, a)).total_seconds())
    return total


@dataclass
class ClockCycle:
    """One cycle of one clock; the ORM row ``SlaClock`` has the same attributes."""

    clock: str
    started_at: datetime
    target_seconds: int
    cycle: int = 1
    held_seconds: float = 0.0
    held_since: datetime | None = None
    stopped_at: datetime | None = None
    elapsed_seconds: float | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    next_check_at: datetime | None = field(default=None)


def is_running(clock) -> bool:
    return clock.stopped_at is None and clock.held_since is None


def elapsed(clock, now: datetime, calendar: Calendar | None) -> float:
    """Working time on the clock, holds excluded."""
    if clock.stopped_at is not None:
        return clock.elapsed_seconds
    end = clock.held_since or now
    return max(0.0, working_seconds_between(clock.started_at, end, calendar) - clock.held_seconds)


def moment_at(clock, share: float, calendar: Calendar | None) -> datetime:
    """When a running clock reaches ``share`` of its target."""
    return add_working_time(clock.started_at, share * clock.target_seconds + clock.held_seconds,
                            calendar)


def due_at(clock, now: datetime, calendar: Calendar | None) -> datetime:
    """The due moment; while on hold, as if the clock resumed now."""
    if clock.held_since is not None and clock.stopped_at is None:
        remaining = max(0.0, clock.target_seconds - elapsed(clock, now, calendar))
        return add_working_time(now, remaining, calendar)
    return moment_at(clock, 1.0, calendar)


def next_check(clock, calendar: Calendar | None) -> datetime | None:
    """The earliest moment the sweep has something to do for this clock."""
    if not is_running(clock):
        return None
    if clock.warned_at is None:
        return moment_at(clock, WARNING_SHARE, calendar)
    if clock.breached_at is None:
        return moment_at(clock, 1.0, calendar)
    return None


def due_alerts(clock, now: datetime, calendar: Calendar | None) -> list[str]:
    """The alerts a running clock owes at ``now`` (each is owed once per cycle)."""
    if not is_running(clock):
        return []
    alerts = []
    if clock.warned_at is None and moment_at(clock, WARNING_SHARE, calendar) <= now:
        alerts.append(WARNING)
    if clock.breached_at is None and moment_at(clock, 1.0, calendar) <= now:
        alerts.append(BREACH)
    return alerts


def mark_alert(clock, alert: str, now: datetime, calendar: Calendar | None) -> None:
    if alert == WARNING:
        clock.warned_at = now
    else:
        clock.breached_at = now
    clock.next_check_at = next_check(clock, calendar)


def status(clock, now: datetime, calendar: Calendar | None) -> str:
    if clock.stopped_at is not None:
        return "met" if clock.breached_at is None else "breached"
    if clock.breached_at is not None:
        return "breached"
    if clock.held_since is not None:
        return "paused"
    if moment_at(clock, 1.0, calendar) <= now:
        return "breached"
    if clock.warned_at is not None or moment_at(clock, WARNING_SHARE, calendar) <= now:
        return "warning"
    return "running"


def summary(clock, now: datetime, calendar: Calendar | None) -> dict:
    """What a ticket's ``sla`` block shows for this clock."""
    spent = elapsed(clock, now, calendar)
    return {
        "due_at": due_at(clock, now, calendar),
        "remaining_seconds": round(clock.target_seconds - spent, 3),
        "status": status(clock, now, calendar),
        "target_seconds": clock.target_seconds,
        "elapsed_seconds": round(spent, 3),
        "started_at": clock.started_at,
        "stopped_at": clock.stopped_at,
        "cycle": clock.cycle,
    }


def start(clock, now: datetime, on_hold: bool, calendar: Calendar | None):
    """Set up a new cycle that starts at ``now`` (paused at once if the ticket is on hold)."""
    clock.started_at = now
    clock.held_seconds = 0.0
    clock.held_since = now if on_hold and clock.clock in PAUSED_BY_HOLD else None
    clock.next_check_at = next_check(clock, calendar)
    return clock


def stop(clock, now: datetime, calendar: Calendar | None) -> None:
    """End the cycle at ``now``; owed alerts must have been marked first."""
    clock.elapsed_seconds = elapsed(clock, now, calendar)
    clock.stopped_at = now
    clock.next_check_at = None


def pause(clock, now: datetime) -> None:
    clock.held_since = now
    clock.next_check_at = None


def resume(clock, now: datetime, calendar: Calendar | None) -> float:
    """Credit the hold back to the clock; returns the working seconds credited."""
    credited = working_seconds_between(clock.held_since, now, calendar)
    clock.held_seconds += credited
    clock.held_since = None
    clock.next_check_at = next_check(clock, calendar)
    return credited
