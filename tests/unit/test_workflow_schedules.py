"""Schedule arithmetic: day steps in local time across DST, month and quarter ends, the
first and following occurrences, the next due after a completion, and catch-up policies."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.workflow import schedules

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def local(tz, *parts):
    return datetime(*parts, tzinfo=tz).astimezone(UTC)


def test_days_keep_the_local_wall_time_across_daylight_saving():
    # Berlin leaves summer time on 2026-10-25: 7 days are 169 hours that week.
    start = local(BERLIN, 2026, 10, 20, 9, 0)
    due = schedules.add_days(start, 7, BERLIN)
    assert due.astimezone(BERLIN).hour == 9
    assert due - start == timedelta(hours=169)


def test_hours_are_exact_hours_whatever_the_zone():
    start = local(BERLIN, 2026, 10, 24, 12, 0)
    assert schedules.add_due(start, {"due_in_hours": 72}, BERLIN) == start + timedelta(hours=72)


def test_due_in_days_counts_calendar_days_in_the_rule_zone():
    start = local(SHANGHAI, 2026, 3, 28, 23, 30)
    due = schedules.add_due(start, {"due_in_days": 7}, SHANGHAI)
    assert due.astimezone(SHANGHAI) == datetime(2026, 4, 4, 23, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize("moment, expected", [
    ((2026, 1, 15, 12), (2026, 2, 1, 9)),
    ((2026, 12, 31, 10), (2027, 1, 1, 9)),
    ((2026, 3, 1, 8, 59), (2026, 3, 1, 9)),
    ((2026, 3, 1, 9, 0), (2026, 3, 1, 9)),
])
def test_monthly_falls_on_the_first_at_nine_local(moment, expected):
    found = schedules.calendar_occurrence_from({"schedule": "monthly"}, local(SHANGHAI, *moment),
                                               SHANGHAI)
    assert found == local(SHANGHAI, *expected)


@pytest.mark.parametrize("moment, expected", [
    ((2026, 1, 5), (2026, 3, 31, 9)),
    ((2026, 4, 1), (2026, 6, 30, 9)),
    ((2026, 8, 30), (2026, 9, 30, 9)),
    ((2026, 12, 31, 10), (2027, 3, 31, 9)),
])
def test_quarterly_falls_on_the_last_day_of_each_quarter(moment, expected):
    found = schedules.calendar_occurrence_from({"schedule": "quarterly"},
                                               local(SHANGHAI, *moment), SHANGHAI)
    assert found == local(SHANGHAI, *expected)


def test_a_calendar_time_of_day_and_the_following_occurrence():
    trigger = {"schedule": "quarterly", "at": "18:00"}
    first = schedules.first_occurrence(trigger, local(BERLIN, 2026, 10, 1), BERLIN)
    assert first == local(BERLIN, 2026, 12, 31, 18)
    assert schedules.following(trigger, first, BERLIN) == local(BERLIN, 2027, 3, 31, 18)


def test_every_days_starts_at_once_and_steps_in_local_days():
    anchor = local(BERLIN, 2026, 10, 20, 9)
    trigger = {"every_days": 7}
    assert schedules.first_occurrence(trigger, anchor, BERLIN) == anchor
    assert schedules.following(trigger, anchor, BERLIN).astimezone(BERLIN).hour == 9


def test_the_next_task_falls_due_every_days_after_the_completion():
    completed = local(SHANGHAI, 2026, 5, 6, 15)
    trigger = {"every_days": 7}
    made = schedules.after_completion(trigger, {"due_in_days": 7}, completed, SHANGHAI)
    assert made == completed  # made at once, due 7 days after the completion
    assert schedules.add_due(made, {"due_in_days": 7}, SHANGHAI) == completed + timedelta(days=7)
    made = schedules.after_completion(trigger, {"due_in_hours": 24}, completed, SHANGHAI)
    assert made == completed + timedelta(days=6)  # appears a day ahead of its due date


def test_due_occurrences_lists_each_missed_one_in_order():
    start = local(UTC, 2026, 1, 1, 9)
    now = start + timedelta(days=15)
    due = schedules.due_occurrences({"every_days": 7}, start, now, UTC)
    assert due == [start, start + timedelta(days=7), start + timedelta(days=14)]


def test_catch_up_policies():
    now = local(UTC, 2026, 1, 22, 10)
    missed = [local(UTC, 2026, 1, 8, 9), local(UTC, 2026, 1, 15, 9)]
    fresh = now - timedelta(minutes=1)
    assert schedules.to_make(missed, now, "all") == missed
    assert schedules.to_make(missed, now, "latest") == missed[-1:]
    assert schedules.to_make(missed, now, "skip") == []
    assert schedules.to_make(missed + [fresh], now, "skip") == [fresh]
    assert schedules.to_make([], now, "latest") == []


def test_catch_up_is_bounded():
    start = local(UTC, 2020, 1, 1)
    due = schedules.due_occurrences({"every_days": 1}, start, start + timedelta(days=1000), UTC)
    assert len(due) == schedules.MAX_CATCH_UP
    assert due[-1] == start + timedelta(days=1000)
