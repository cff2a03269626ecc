"""Schedule arithmetic in plain Python: when a rule's occurrences fall, when the task made
for one is due, and which occurrences missed during downtime are made (the catch-up policy).

Day-based steps keep the local wall-clock time in the rule's time zone, so a task due at
09:00 stays at 09:00 across a daylight-saving change; hour-based steps are exact hours.
Every function takes and returns aware datetimes.
"""
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

CATCH_UP_POLICIES = ("latest", "all", "skip")
CALENDARS = ("monthly", "quarterly")
DEFAULT_AT = time(9, 0)
# An occurrence whose moment passed longer ago than this was missed (the service was down);
# the sweep runs every few seconds, so anything younger is simply being made on time.
MISSED_AFTER = timedelta(minutes=15)
MAX_CATCH_UP = 100  # occurrences made for one (rule, customer) in one round at most


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def add_days(moment: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The same local wall time ``days`` calendar days later (or earlier), in ``tz``."""
    local = moment.astimezone(tz)
    day = local.date() + timedelta(days=days)
    shifted = datetime.combine(day, local.time().replace(tzinfo=None), tz)
    return shifted.replace(fold=local.fold).astimezone(timezone.utc)


def add_due(moment: datetime, task: dict, tz: ZoneInfo) -> datetime:
    """When a task made at ``moment`` is due: ``due_in_days`` in local days, else
    ``due_in_hours`` exact hours."""
    if task.get("due_in_days") is not None:
        return add_days(moment, task["due_in_days"], tz)
    return moment + timedelta(hours=task.get("due_in_hours") or 0)


def due_formula(task: dict, tz: ZoneInfo) -> str:
    """The due-date rule in words, for a task's ``reason``."""
    if task.get("due_in_days") is not None:
        return f"trigger time + {task['due_in_days']} days (local wall time in {tz.key})"
    return f"trigger time + {task.get('due_in_hours') or 0} hours"


def _local_at(day, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tz).astimezone(timezone.utc)


def _month_start(year: int, month: int):
    return datetime(year, month, 1).date()


def _quarter_end(year: int, quarter: int):
    """The last day of ``quarter`` (1-4) of ``year``."""
    month = quarter * 3
    next_start = _month_start(year + (month == 12), month % 12 + 1)
    return next_start - timedelta(days=1)


def at_of(trigger: dict) -> time:
    return time.fromisoformat(trigger["at"]) if trigger.get("at") else DEFAULT_AT


def calendar_occurrence_from(trigger: dict, moment: datetime, tz: ZoneInfo) -> datetime:
    """The first calendar occurrence at or after ``moment``: the 1st of each month
    (``monthly``) or the last day of each quarter (``quarterly``), at ``at`` local time."""
    at, local = at_of(trigger), moment.astimezone(tz)
    year, month = local.year, local.month
    for _ in range(6):
        if trigger["schedule"] == "monthly":
            candidate = _local_at(_month_start(year, month), at, tz)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        else:
            quarter = (month - 1) // 3 + 1
            candidate = _local_at(_quarter_end(year, quarter), at, tz)
            year, month = (year + 1, 1) if quarter == 4 else (year, quarter * 3 + 1)
        if candidate >= moment:
            return candidate
    raise ValueError("no occurrence found")  # unreachable for the known schedules


def first_occurrence(trigger: dict, anchor: datetime, tz: ZoneInfo) -> datetime:
    """A subject that starts matching at ``anchor`` gets its first task at once
    (``every_days``) or at the next calendar occurrence."""
    if "every_days" in trigger:
        return anchor
    return calendar_occurrence_from(trigger, anchor, tz)


def following(trigger: dict, occurrence: datetime, tz: ZoneInfo) -> datetime:
    """The occurrence after ``occurrence``."""
    if "every_days" in trigger:
        return add_days(occurrence, trigger["every_days"], tz)
    return calendar_occurrence_from(trigger, occurrence + timedelta(seconds=1), tz)


def after_completion(trigger: dict, task: dict, completed_at: datetime, tz: ZoneInfo) -> datetime:
    """``every_days``: the next task falls due ``every_days`` after the completion, so it is
    made that long before (never before the completion itself)."""
    due = add_days(completed_at, trigger["every_days"], tz)
    if task.get("due_in_days") is not None:
        made = add_days(due, -task["due_in_days"], tz)
    else:
        made = due - timedelta(hours=task.get("due_in_hours") or 0)
    return max(made, completed_at)


def pauses_while_open(trigger: dict) -> bool:
    """``every_days`` waits for the open task to close; a calendar schedule moves on."""
    return "every_days" in trigger


def due_occurrences(trigger: dict, start: datetime, now: datetime, tz: ZoneInfo) -> list[datetime]:
    """Every occurrence from ``start`` up to ``now`` (at most :data:`MAX_CATCH_UP`, the
    latest ones kept)."""
    moments, moment = [], start
    while moment <= now:
        moments.append(moment)
        moment = following(trigger, moment, tz)
    return moments[-MAX_CATCH_UP:]


def to_make(occurrences: list[datetime], now: datetime, policy: str) -> list[datetime]:
    """Which of the due ``occurrences`` get a task: ``all`` of them, only the ``latest``, or
    (``skip``) only those not missed — younger than :data:`MISSED_AFTER`."""
    if not occurrences:
        return []
    if policy == "all":
        return list(occurrences)
    if policy == "latest":
        return occurrences[-1:]
    return [moment for moment in occurrences if moment >= now - MISSED_AFTER]
