"""The ticket state machine, pair by pair, against SPEC §3 written out independently."""
import itertools
from datetime import datetime, timedelta, timezone

import pytest

from services.common.errors import Conflict, InvalidTransition, ValidationFailed
from services.ticket import domain

SPEC_MOVES = {
    ("pending", "in_progress"),
    ("in_progress", "done"),
    ("done", "in_progress"),  # reopened: the customer is not satisfied
    ("done", "closed"),
}
DONE_FIELDS = {"solution": "Replaced the part", "resolution": "resolved"}


@pytest.mark.parametrize("source, target", list(itertools.product(domain.STATES, repeat=2)))
def test_every_pair_of_states(source, target):
    if (source, target) in SPEC_MOVES:
        rule = domain.check_transition(source, target, DONE_FIELDS)
        assert rule is domain.TRANSITIONS[(source, target)]
        return
    with pytest.raises(InvalidTransition) as refused:
        domain.check_transition(source, target, DONE_FIELDS)
    allowed = sorted(to for (frm, to) in SPEC_MOVES if frm == source)
    assert sorted(refused.value.details["allowed"]) == allowed
    assert refused.value.status == 409 and refused.value.code == "invalid_transition"


def test_the_table_is_exactly_the_spec():
    assert set(domain.TRANSITIONS) == SPEC_MOVES
    assert domain.allowed_targets("closed") == []


@pytest.mark.parametrize("given, missing", [
    ({}, {"solution", "resolution"}),
    ({"solution": "Fixed"}, {"resolution"}),
    ({"resolution": "resolved", "solution": ""}, {"solution"}),
])
def test_done_needs_solution_and_resolution(given, missing):
    with pytest.raises(ValidationFailed) as refused:
        domain.check_transition("in_progress", "done", given)
    assert set(refused.value.details["fields"]) == missing


def test_clock_effects_of_each_move():
    assert domain.TRANSITIONS[("pending", "in_progress")].stops == ("first_response",)
    assert set(domain.TRANSITIONS[("in_progress", "done")].stops) == {"resolution", "update"}
    assert set(domain.TRANSITIONS[("done", "in_progress")].starts) == {"resolution", "update"}


def test_ticket_id_is_customer_id_and_sequence():
    assert domain.ticket_id("2026-TECH-001", 1) == "2026-TECH-001-001"
    assert domain.ticket_id("2026-TECH-001", 1234) == "2026-TECH-001-1234"


@pytest.mark.parametrize("state", domain.STATES)
def test_only_in_progress_can_be_held(state):
    if state == "in_progress":
        domain.check_can_hold(state, on_hold=False)
    else:
        with pytest.raises(Conflict):
            domain.check_can_hold(state, on_hold=False)


def test_hold_twice_and_resume_without_hold_are_refused():
    with pytest.raises(Conflict):
        domain.check_can_hold("in_progress", on_hold=True)
    with pytest.raises(Conflict):
        domain.check_can_resume(False, "in_progress")


@pytest.mark.parametrize("state", domain.STATES)
def test_only_done_or_closed_can_be_rated_once(state):
    if state in ("done", "closed"):
        domain.check_can_rate(state, already_rated=False)
        with pytest.raises(Conflict):
            domain.check_can_rate(state, already_rated=True)
    else:
        with pytest.raises(Conflict):
            domain.check_can_rate(state, already_rated=False)


NOW = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("state, on_hold, resolution, label", [
    ("pending", False, None, "pending"),
    ("in_progress", True, None, "awaiting_customer"),      # 待跟进
    ("in_progress", False, None, "in_progress"),
    ("done", False, "resolved", "done"),
    ("done", False, "unresolvable", "unresolvable"),       # 无法解决
    ("closed", False, "unresolvable", "unresolvable"),
    ("closed", False, "resolved", "closed"),
])
def test_the_forms_status_label(state, on_hold, resolution, label):
    assert domain.status_label(state, on_hold, resolution) == label
    assert label in domain.STATUS_LABELS


@pytest.mark.parametrize("received_at", [
    NOW + timedelta(hours=1), NOW - timedelta(days=91),
])
def test_received_at_is_neither_in_the_future_nor_older_than_90_days(received_at):
    with pytest.raises(ValidationFailed) as refused:
        domain.check_received_at(received_at, NOW)
    assert "received_at" in refused.value.details["fields"]


def test_an_entry_more_than_24_hours_after_receipt_is_late():
    domain.check_received_at(NOW - timedelta(days=89), NOW)
    assert not domain.is_late_entry(NOW - timedelta(hours=24), NOW)
    assert domain.is_late_entry(NOW - timedelta(hours=24, seconds=1), NOW)


def test_closing_needs_a_rating_or_a_reason():
    domain.check_can_close(rated=True, close_reason=None)
    domain.check_can_close(rated=False, close_reason="customer_unreachable")
    with pytest.raises(ValidationFailed) as refused:
        domain.check_can_close(rated=False, close_reason=None)
    assert "close_reason" in refused.value.details["fields"]


@pytest.mark.parametrize("score, dissatisfied", [(1, True), (2, True), (3, False), (5, False)])
def test_a_score_of_2_or_less_is_dissatisfied(score, dissatisfied):
    assert domain.is_dissatisfied(score) is dissatisfied
