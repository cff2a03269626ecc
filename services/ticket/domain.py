"""Ticket rules in plain Python: the vocabularies, the id, and the state machine as one
declarative table that the API, the documentation and the tests all read. Nothing here
knows about Nameko, Flask or SQL."""
from dataclasses import dataclass

from services.common.errors import Conflict, InvalidTransition, ValidationFailed

SERVICE_TYPES = ("presales", "insales", "aftersales", "value_added")
CATEGORIES = ("inquiry", "complaint", "suggestion", "need", "cooperation")
PRIORITIES = ("high", "medium", "low")
RESOLUTIONS = ("resolved", "unresolvable")
STATES = ("pending", "in_progress", "done", "closed")
OPEN_STATES = ("pending", "in_progress")
RATABLE_STATES = ("done", "closed")
HOLDABLE_STATE = "in_progress"


@dataclass(frozen=True)
class Transition:
    """One allowed move: the fields it needs and the SLA clocks it stops and (re)starts."""

    requires: tuple = ()
    stops: tuple = ()
    starts: tuple = ()


# The state machine (处理进度). Any pair not listed here is refused.
TRANSITIONS = {
    ("pending", "in_progress"): Transition(stops=("first_response",)),
    ("in_progress", "done"): Transition(requires=("solution", "resolution"),
                                        stops=("resolution", "update")),
    ("done", "in_progress"): Transition(starts=("resolution", "update")),  # reopened
    ("done", "closed"): Transition(),
}


def ticket_id(customer_id: str, sequence: int) -> str:
    """``2026-TECH-001-001``: the customer's id and a per-customer sequence."""
    return f"{customer_id}-{sequence:03d}"


def allowed_targets(state: str) -> list[str]:
    return [to for (source, to) in TRANSITIONS if source == state]


def check_transition(state: str, to: str, given: dict) -> Transition:
    """The rule for ``state → to``; 409 naming the allowed targets, or 422 naming missing fields."""
    rule = TRANSITIONS.get((state, to))
    if rule is None:
        allowed = allowed_targets(state)
        raise InvalidTransition(
            f"A ticket in state '{state}' cannot move to '{to}'; allowed: {allowed or 'none'}.",
            {"from": state, "to": to, "allowed": allowed})
    missing = [name for name in rule.requires if not given.get(name)]
    if missing:
        raise ValidationFailed(
            f"Moving a ticket to '{to}' needs {' and '.join(rule.requires)}.",
            {"fields": {name: [f"Required to move to '{to}'."] for name in missing}})
    return rule


def check_can_hold(state: str, on_hold: bool) -> None:
    if state != HOLDABLE_STATE:
        raise Conflict(f"Only an in_progress ticket can be put on hold; this one is '{state}'.",
                       {"state": state})
    if on_hold:
        raise Conflict("The ticket is already on hold.", {"state": state})


def check_can_resume(on_hold: bool, state: str) -> None:
    if not on_hold:
        raise Conflict("The ticket is not on hold.", {"state": state})


def check_can_rate(state: str, already_rated: bool) -> None:
    if state not in RATABLE_STATES:
        raise Conflict(f"Only a done or closed ticket can be rated; this one is '{state}'.",
                       {"state": state})
    if already_rated:
        raise Conflict("This ticket has already been rated.", {"state": state})
