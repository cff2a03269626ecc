"""SLA arithmetic: business calendars across a weekend, a holiday and a DST change, and one
clock cycle moved through time (warning at 80 %, breach at 100 %, holds credited back)."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.ticket import sla

SHANGHAI = ZoneInfo("Asia/Shanghai")
WORKDAYS = {day: ["09:00", "18:30"] for day in ("mon", "tue", "wed", "thu", "fri")}
CALENDAR = sla.Calendar.from_policy({"timezone": "Asia/Shanghai", "hours": WORKDAYS,
                                     "holidays": ["2026-11-09"]})  # a Monday
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


# --- calendars ----------------------------------------------------------------------------

def test_two_hours_from_friday_evening_skip_the_weekend_and_the_holiday():
    friday = local(2026, 11, 6, 17, 30)
    due = sla.add_working_time(friday, 7200, CALENDAR)
    assert due == local(2026, 11, 10, 10, 0)  # Tuesday: 1 h on Friday, 1 h on Tuesday
    assert sla.working_seconds_between(friday, due, CALENDAR) == 7200


def test_time_outside_working_hours_does_not_count():
    saturday, holiday = local(2026, 11, 7, 12, 0), local(2026, 11, 9, 12, 0)
    assert sla.working_seconds_between(saturday, holiday, CALENDAR) == 0
    assert sla.add_working_time(saturday, 0, CALENDAR) == local(2026, 11, 10, 9, 0)
    assert sla.working_seconds_between(local(2026, 11, 5, 20, 0), local(2026, 11, 6, 8, 0),
                                       CALENDAR) == 0


def test_a_full_working_week_with_a_holiday():
    monday, next_monday = local(2026, 11, 9, 0, 0), local(2026, 11, 16, 0, 0)
    assert sla.working_seconds_between(monday, next_monday, CALENDAR) == 4 * 9.5 * 3600


@pytest.mark.parametrize("start", [local(2026, 11, 6, 17, 30), local(2026, 11, 7, 3, 0),
                                   local(2026, 11, 10, 9, 0), local(2026, 11, 12, 18, 29)])
@pytest.mark.parametrize("seconds", [1, 1800, 34200, 172800])
def test_add_working_time_and_working_seconds_between_are_inverse(start, seconds):
    due = sla.add_working_time(start, seconds, CALENDAR)
    assert sla.working_seconds_between(start, due, CALENDAR) == pytest.approx(seconds)


def test_working_hours_follow_the_zone_across_a_dst_change():
    berlin = sla.Calendar.from_policy({"timezone": "Europe/Berlin", "hours": {
        day: ["01:00", "04:00"] for day in sla.WEEKDAYS}})
    night = datetime(2026, 3, 29, tzinfo=ZoneInfo("Europe/Berlin"))  # 02:00 becomes 03:00
    assert sla.working_seconds_between(night, night + timedelta(hours=20), berlin) == 2 * 3600


BERLIN = ZoneInfo("Europe/Berlin")
BERLIN_OFFICE = sla.Calendar.from_policy({"timezone": "Europe/Berlin", "hours": {
    day: ["09:00", "17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}})
BERLIN_NIGHTS = sla.Calendar.from_policy({"timezone": "Europe/Berlin", "hours": {
    day: ["00:00", "06:00"] for day in sla.WEEKDAYS}})


@pytest.mark.parametrize("friday, monday_utc", [
    # spring forward (29 March): Friday is UTC+1, Monday UTC+2
    (datetime(2026, 3, 27, 16, 0, tzinfo=BERLIN), datetime(2026, 3, 30, 8, 0, tzinfo=timezone.utc)),
    # fall back (25 October): Friday is UTC+2, Monday UTC+1
    (datetime(2026, 10, 23, 16, 0, tzinfo=BERLIN), datetime(2026, 10, 26, 9, 0, tzinfo=timezone.utc)),
])
def test_add_working_time_across_each_dst_change_lands_at_local_office_hours(friday, monday_utc):
    due = sla.add_working_time(friday, 2 * 3600, BERLIN_OFFICE)  # 1 h Friday, 1 h Monday
    assert due == monday_utc
    assert due.astimezone(BERLIN).time().isoformat() == "10:00:00"
    assert sla.working_seconds_between(friday, due, BERLIN_OFFICE) == 2 * 3600


@pytest.mark.parametrize("night, real_hours, due", [
    # 02:00-03:00 does not exist: the night is an hour short, the sixth hour is the next night's
    ((2026, 3, 29), 5, datetime(2026, 3, 30, 1, 0, tzinfo=BERLIN)),
    # 02:00-03:00 happens twice: the night is an hour longer, six hours end at 05:00
    ((2026, 10, 25), 7, datetime(2026, 10, 25, 5, 0, tzinfo=BERLIN)),
])
def test_a_working_window_across_the_change_counts_the_real_hours(night, real_hours, due):
    start, end = datetime(*night, tzinfo=BERLIN), datetime(*night, 6, 0, tzinfo=BERLIN)
    assert sla.working_seconds_between(start, end, BERLIN_NIGHTS) == real_hours * 3600
    assert sla.add_working_time(start, 6 * 3600, BERLIN_NIGHTS) == due
    assert sla.working_seconds_between(start, due, BERLIN_NIGHTS) == 6 * 3600


def test_without_a_calendar_every_second_counts():
    assert sla.add_working_time(T0, 90, None) == T0 + timedelta(seconds=90)
    assert sla.working_seconds_between(T0, T0 + timedelta(days=3), None) == 3 * 86400
    assert sla.Calendar.from_policy(None) is None


# --- one clock cycle through time --------------------------------------------------------

def running_clock(target=600, calendar=None):
    return sla.start(sla.ClockCycle(clock="first_response", started_at=T0, target_seconds=target),
                     T0, on_hold=False, calendar=calendar)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_warning_at_80_percent_then_breach_at_100_percent_once_each():
    clock = running_clock()
    assert clock.next_check_at == at(480)
    assert sla.due_alerts(clock, at(479), None) == [] and sla.status(clock, at(479), None) == "running"
    assert sla.due_alerts(clock, at(480), None) == [sla.WARNING]
    sla.mark_alert(clock, sla.WARNING, at(480), None)
    assert clock.next_check_at == at(600) and sla.status(clock, at(500), None) == "warning"
    assert sla.due_alerts(clock, at(599), None) == []
    sla.mark_alert(clock, sla.BREACH, at(600), None)
    assert clock.next_check_at is None and sla.due_alerts(clock, at(9999), None) == []
    assert sla.status(clock, at(601), None) == "breached"


def test_a_late_sweep_owes_both_alerts():
    assert sla.due_alerts(running_clock(), at(3600), None) == [sla.WARNING, sla.BREACH]


def test_summary_shows_due_time_remaining_and_status():
    shown = sla.summary(running_clock(), at(120), None)
    assert shown["due_at"] == at(600) and shown["remaining_seconds"] == 480
    assert shown["status"] == "running" and shown["elapsed_seconds"] == 120


def test_a_hold_pauses_the_clock_and_is_credited_back():
    clock = running_clock(target=7200)
    clock.clock = "resolution"
    sla.pause(clock, at(1000))
    assert sla.status(clock, at(50000), None) == "paused" and clock.next_check_at is None
    assert sla.elapsed(clock, at(50000), None) == 1000
    assert sla.due_at(clock, at(50000), None) == at(50000 + 6200)
    assert sla.resume(clock, at(50000), None) == 49000
    assert clock.next_check_at == at(0.8 * 7200 + 49000)
    assert sla.due_at(clock, at(50000), None) == at(7200 + 49000)
    assert sla.due_alerts(clock, at(7200 + 1000), None) == []  # never breaches for held time


def test_a_hold_over_a_weekend_credits_only_working_time():
    friday = local(2026, 11, 6, 16, 0)
    clock = sla.start(sla.ClockCycle(clock="resolution", started_at=friday, target_seconds=7200),
                      friday, on_hold=False, calendar=CALENDAR)
    sla.pause(clock, local(2026, 11, 6, 17, 0))
    # 17:00-18:30 on Friday and 09:00-10:00 on Tuesday; the weekend and the holiday are free
    assert sla.resume(clock, local(2026, 11, 10, 10, 0), CALENDAR) == 2.5 * 3600
    assert sla.elapsed(clock, local(2026, 11, 10, 10, 0), CALENDAR) == 3600
    assert sla.due_at(clock, local(2026, 11, 10, 10, 0), CALENDAR) == local(2026, 11, 10, 11, 0)


def test_a_cycle_started_on_hold_starts_paused():
    clock = sla.start(sla.ClockCycle(clock="update", started_at=T0, target_seconds=100), T0,
                      on_hold=True, calendar=None)
    assert clock.held_since == T0 and clock.next_check_at is None
    first = sla.start(sla.ClockCycle(clock="first_response", started_at=T0, target_seconds=100),
                      T0, on_hold=True, calendar=None)
    assert first.held_since is None  # holds pause only resolution and update


def test_stopped_in_time_is_met_and_late_is_breached():
    met = running_clock()
    sla.stop(met, at(300), None)
    assert sla.status(met, at(9999), None) == "met" and met.elapsed_seconds == 300
    late = running_clock()
    for alert in sla.due_alerts(late, at(700), None):
        sla.mark_alert(late, alert, at(700), None)
    sla.stop(late, at(700), None)
    assert sla.status(late, at(9999), None) == "breached"
    assert sla.summary(late, at(9999), None)["remaining_seconds"] == -100


@pytest.mark.parametrize("category, priority, complex_, expected", [
    # 客户咨询/投诉时,10分钟内响应; 2小时内响应 otherwise; a solution within 2 hours, a
    # complex problem within 24; a progress update every 48 hours.
    ("complaint", "high", False, {"first_response": 600, "resolution": 7200, "update": 172800}),
    ("inquiry", "medium", False, {"first_response": 600, "resolution": 7200, "update": 172800}),
    ("need", "low", False, {"first_response": 7200, "resolution": 7200, "update": 172800}),
    ("other", "low", True, {"first_response": 7200, "resolution": 86400, "update": 172800}),
])
def test_targets_from_the_default_policy(category, priority, complex_, expected):
    assert sla.targets(sla.DEFAULT_POLICY, category, priority, complex_) == expected


@pytest.mark.parametrize("resolution, priority, complex_, expected", [
    ({"default": 7200, "complex": 86400, "high": 3600}, "high", False, 3600),
    ({"default": 7200, "complex": 86400, "high": 3600}, "high", True, 86400),
    ({"default": 7200, "high": 3600}, "low", False, 7200),
    ({"default": 7200}, "medium", True, 7200),
    # a policy stored before `default` existed names every priority
    ({"high": 7200, "medium": 86400, "low": 259200}, "low", True, 259200),
])
def test_a_resolution_target_is_complex_then_priority_then_default(resolution, priority,
                                                                    complex_, expected):
    assert sla.resolution_target(resolution, priority, complex_) == expected
