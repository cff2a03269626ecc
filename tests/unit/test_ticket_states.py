"""The ticket state machine, pair by pair, against SPEC §3 written out independently."""
import itertools

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
