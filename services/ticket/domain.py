"""Ticket rules in plain Python: the vocabularies, the id, and the state machine as one
declarative table that the API, the documentation and the tests all read. Nothing here
knows about Nameko, Flask or SQL."""
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.errors import Conflict, InvalidTransition, ValidationFailed

SERVICE_TYPES = ("presales", "insales", "aftersales", "value_added")
CATEGORIES = ("inquiry", "complaint", "suggestion", "need", "cooperation", "other")
PRIORITIES = ("high", "medium", "low")
RESOLUTIONS = ("resolved", "unresolvable")
STATES = ("pending", "in_progress", "done", "closed")
OPEN_STATES = ("pending", "in_progress")
RATABLE_STATES = ("done", "closed")
HOLDABLE_STATE = "in_progress"
# The feedback form (004 四): how the customer reached us, and the states it names.
CHANNELS = ("phone", "email", "meeting", "online_form", "visit", "other")
STATUS_LABELS = ("pending", "in_progress", "awaiting_customer", "done", "unresolvable", "closed")
# Why a done ticket was closed without the customer's rating.
CLOSE_REASONS = ("customer_unreachable", "customer_declined", "duplicate", "other")
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
ENTRY_DEADLINE = timedelta(hours=24)      # 录入: within 24 hours of receiving the feedback
RECEIVED_AT_MAX_AGE = timedelta(days=90)
CLOCK_SKEW = timedelta(minutes=5)         # a client's clock a little ahead is not "the future"
DISSATISFIED_SCORE = 2                    # a score of 2 or less asks for a follow-up


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


def status_label(state: str, on_hold: bool, resolution: str | None) -> str:
    """What the form calls the ticket's state: 待跟进 while on hold, 无法解决 when finished
    unresolved, else the state itself."""
    if on_hold:
        return "awaiting_customer"
    if state in RATABLE_STATES and resolution == "unresolvable":
        return "unresolvable"
    return state


def check_received_at(received_at: datetime, now: datetime) -> None:
    """Feedback is received before it is entered, and at most 90 days before."""
    if received_at > now + CLOCK_SKEW:
        problem = "must not be in the future"
    elif received_at < now - RECEIVED_AT_MAX_AGE:
        problem = "must be within the last 90 days"
    else:
        return
    raise ValidationFailed(f"received_at {problem}.", {"fields": {"received_at": [
        f"{received_at.isoformat()} {problem}."]}})


def is_late_entry(received_at: datetime, entered_at: datetime) -> bool:
    return entered_at - received_at > ENTRY_DEADLINE


def check_can_close(rated: bool, close_reason: str | None) -> None:
    """持续跟进直至客户确认满意: a done ticket closes once rated, or with the reason it was not."""
    if not rated and not close_reason:
        raise ValidationFailed(
            "Closing needs the customer's rating or a close_reason "
            f"({', '.join(CLOSE_REASONS)}).",
            {"fields": {"close_reason": ["Required to close a ticket that has no rating."]}})


def is_dissatisfied(score: int) -> bool:
    return score <= DISSATISFIED_SCORE


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
