"""When a sweep queries its database (services/common/wakeups.py): after a change here,
once a due time it saw has come, and otherwise only every so often."""
from datetime import datetime, timedelta, timezone

import pytest

from services.common.wakeups import Gate

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def rounds(gate: Gate, now, due=None) -> list:
    ran = []
    gate.run(now, lambda: ran.append(now), lambda: due)
    return ran


def test_the_first_tick_is_a_round_and_an_idle_gate_then_waits_for_its_check():
    clock = Clock()
    gate = Gate(60, clock)
    assert rounds(gate, START)
    for second in range(5, 60, 5):
        clock.now = second
        assert not rounds(gate, START + timedelta(seconds=second))
    clock.now = 60
    assert rounds(gate, START + timedelta(seconds=60))


def test_a_due_time_seen_opens_the_gate_when_it_comes():
    clock = Clock()
    gate = Gate(3600, clock)
    due = START + timedelta(seconds=480)
    assert rounds(gate, START, due)
    assert not rounds(gate, due - timedelta(seconds=1), due)
    assert rounds(gate, due)


def test_a_commit_here_opens_the_gate_and_one_during_a_round_counts_for_the_next():
    gate = Gate(3600, Clock())
    rounds(gate, START)
    gate.nudge()
    assert gate.due(START)
    gate.run(START, gate.nudge, lambda: None)
    assert gate.due(START)


def test_a_failed_round_is_tried_again_at_the_next_tick():
    gate = Gate(3600, Clock())

    def fail():
        raise RuntimeError("database down")
    with pytest.raises(RuntimeError):
        gate.run(START, fail, lambda: None)
    assert gate.due(START)
