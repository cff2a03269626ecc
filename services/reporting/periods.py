"""Calendar arithmetic of the reports: UTC days, Monday weeks and calendar months, the named
ranges (``30d``, ``quarter``, ``year``), the periods of a trend, and how a range splits into
the whole months, whole weeks and single days the roll-ups hold. Plain Python."""
from datetime import date, datetime, timedelta, timezone

DAY, WEEK, MONTH = "day", "week", "month"
INTERVALS = (DAY, WEEK, MONTH)
DEFAULT_RANGE_DAYS = 30
RANGES = ("30d", "quarter", "year")


def day_of(moment: datetime) -> date:
    """The UTC calendar day of an aware moment: the reports' days are UTC days."""
    return moment.astimezone(timezone.utc).date()


def week_of(day: date) -> date:
    """The Monday that starts ``day``'s week."""
    return day - timedelta(days=day.weekday())


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period_of(day: date, interval: str) -> date:
    """The first day of the day's, week's or month's period ``day`` falls in."""
    return {DAY: lambda d: d, WEEK: week_of, MONTH: month_of}[interval](day)


def periods(start: date, end: date, interval: str) -> list[date]:
    """The first days of the periods that ``[start, end]`` touches, in order."""
    found, current = [], period_of(start, interval)
    while current <= end:
        found.append(current)
        current = (next_month(current) if interval == MONTH
                   else current + timedelta(days=7 if interval == WEEK else 1))
    return found


def default_range(today: date) -> tuple[date, date]:
    """The last 30 days, today included."""
    return today - timedelta(days=DEFAULT_RANGE_DAYS - 1), today


def named_range(name: str, today: date) -> tuple[date, date]:
    """``30d``: the last 30 days; ``quarter``: the current calendar quarter so far;
    ``year``: the current year so far (today included in each)."""
    if name == "30d":
        return default_range(today)
    if name == "quarter":
        return date(today.year, 3 * ((today.month - 1) // 3) + 1, 1), today
    if name == "year":
        return date(today.year, 1, 1), today
    raise ValueError(f"unknown range {name!r}")


def split_range(start: date, end: date) -> dict[str, list[tuple[date, date]]]:
    """``[start, end]`` as the whole calendar months inside it, then the whole weeks inside
    what is left at either end, then the single days left over: ``{period: [(first start,
    last start)]}`` (inclusive runs of period starts). No week taken straddles two months,
    so every piece belongs to one calendar month. Reading a year this way takes about a
    dozen months, a few weeks and at most a dozen days instead of 365 days."""
    runs = {DAY: [], WEEK: [], MONTH: []}
    first_month = start if start.day == 1 else next_month(start)
    last_month_end = month_of(end + timedelta(days=1)) - timedelta(days=1)
    if first_month <= last_month_end:
        runs[MONTH].append((first_month, month_of(last_month_end)))
        leftovers = [(start, first_month - timedelta(days=1)),
                     (last_month_end + timedelta(days=1), end)]
    elif month_of(start) != month_of(end):  # across one month's end: a piece in each month
        leftovers = [(start, month_of(end) - timedelta(days=1)), (month_of(end), end)]
    else:
        leftovers = [(start, end)]
    for low, high in leftovers:
        if low > high:
            continue
        weeks, days = split_into_weeks(low, high)
        if weeks is not None:
            runs[WEEK].append(weeks)
        runs[DAY].extend(days)
    return runs


def split_into_weeks(start: date, end: date) -> tuple[tuple | None, list[tuple]]:
    """``[start, end]`` as the Mondays of the whole weeks inside it (first, last) or None,
    and the runs of days left over at either end."""
    first_monday = start + timedelta(days=(7 - start.weekday()) % 7)
    last_sunday = end - timedelta(days=(end.weekday() + 1) % 7)
    if first_monday > last_sunday:
        return None, [(start, end)]
    edges = [(start, first_monday - timedelta(days=1)), (last_sunday + timedelta(days=1), end)]
    return ((first_monday, last_sunday - timedelta(days=6)),
            [(low, high) for low, high in edges if low <= high])
