"""Working a ticket: edits, transitions, comments, holds. Each use case locks the ticket, applies
the rules of :mod:`~services.ticket.domain`, moves its SLA clocks (:mod:`~services.ticket.clocks`),
writes the change, its history and its events in one transaction, and commits."""
from datetime import date, datetime

from sqlalchemy import select

from services.common.schemas import load_or_422, schema_of
from services.common.versions import bump_version, check_version
from services.ticket import domain
from services.ticket.clocks import (
    pause_for_hold, public_update, restart_clock, resume_after_hold, start_cycle, stop_clock,
)
from services.ticket.departments import check_department
from services.ticket.models import Comment, Hold, Ticket, Transition
from services.ticket.notices import (
    OUTCOME, address_of, settle_notify_customer, tell_customer,
)
from services.ticket.presentation import calendar_of, current_cycle, present
from services.ticket.schemas import (
    CommentInputSchema, CommentSchema, HoldInputSchema, TicketUpdateSchema, TransitionInputSchema,
)
from services.ticket.surveys import SurveyOptions, open_survey
from services.ticket.tickets import find_ticket


def touch(uow, ticket: Ticket) -> datetime:
    """Every change of a ticket: its time and its version (the ETag)."""
    ticket.updated_at = uow.now()
    bump_version(ticket)
    return ticket.updated_at


def locked(uow, ticket_id: str, expected_version: int | None = None) -> Ticket:
    """The ticket, its row locked for the transaction; 412 when ``expected_version`` (the
    client's ``If-Match``) is not its version."""
    ticket = find_ticket(uow.session, ticket_id, for_update=True)
    check_version(ticket, expected_version, "Ticket")
    return ticket


def _plain(value):
    """A value as an event carries it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def update_ticket(uow, ticket_id: str, payload: dict, expected_version: int | None = None) -> dict:
    """Owner, priority, title, description and the feedback form's fields. Running clocks
    keep their targets (a change of priority or ``complex`` applies to later cycles)."""
    data = load_or_422(schema_of(TicketUpdateSchema), payload)
    ticket = locked(uow, ticket_id, expected_version)
    check_department(uow.session, data.get("department"))
    changes = [{"field": name, "before": getattr(ticket, name), "after": value}
               for name, value in data.items() if getattr(ticket, name) != value]
    if not changes:
        uow.rollback()
        return present(ticket, uow.now())
    previous_owner = ticket.owner
    for change in changes:
        setattr(ticket, change["field"], change["after"])
    if any(change["field"] == "planned_completion_date" for change in changes):
        ticket.delay_notified_at = None  # a new promise: its passing is news again
    if "notify_customer" in data:
        settle_notify_customer(ticket, data["notify_customer"])
    elif address_of(ticket) is None:
        ticket.notify_customer = False  # the last address is gone
    changes = [{"field": change["field"], "before": _plain(change["before"]),
                "after": _plain(change["after"])} for change in changes]
    now = touch(uow, ticket)
    shown = present(ticket, now)
    uow.emit("ticket.updated", {"ticket": shown, "changes": changes})
    if ticket.owner != previous_owner:
        uow.emit("ticket.assigned", {"ticket": shown, "previous_owner": previous_owner})
    uow.commit()
    return shown


def transition_ticket(uow, ticket_id: str, payload: dict, surveys: SurveyOptions,
                      expected_version: int | None = None) -> dict:
    """Reaching done sets ``completed_at``, opens a survey and tells the customer the outcome;
    a reopen clears ``completed_at``; closing needs a rating or a ``close_reason``."""
    data = load_or_422(schema_of(TransitionInputSchema), payload)
    ticket = locked(uow, ticket_id, expected_version)
    rule = domain.check_transition(ticket.state, data["to"], data)
    if data["to"] == "closed":
        domain.check_can_close(ticket.rating is not None, data.get("close_reason"))
        ticket.close_reason = data.get("close_reason")
    now, calendar, source = touch(uow, ticket), calendar_of(ticket), ticket.state
    if ticket.on_hold:
        _end_hold(uow, ticket, now, calendar)
    ticket.state = data["to"]
    if rule.requires:
        ticket.solution, ticket.resolution = data["solution"], data["resolution"]
    ticket.completed_at = now if ticket.state == "done" else (
        None if ticket.state in domain.OPEN_STATES else ticket.completed_at)
    for name in rule.stops:
        stop_clock(uow, ticket, name, now, calendar)
    for name in rule.starts:
        start_cycle(ticket, name, current_cycle(ticket, name).target_seconds, now, calendar)
    if ticket.state in domain.OPEN_STATES and "update" not in rule.starts:
        restart_clock(uow, ticket, "update", now, calendar)
    note, actor = data.get("note"), uow.context.actor
    uow.session.add(Transition(ticket_id=ticket.id, from_state=source, to_state=ticket.state,
                               note=note, at=now, by=actor))
    shown = present(ticket, now)
    uow.emit("ticket.transitioned", {"ticket": shown, "from": source, "to": ticket.state,
                                     "note": note, "by": actor, "at": now.isoformat()})
    if ticket.state == "done":
        asking = ticket.rating is None and ticket.notify_customer and address_of(ticket)
        survey = {"survey_id": open_survey(uow, ticket, now, surveys)} if asking else {}
        tell_customer(uow, ticket, OUTCOME, now, solution=ticket.solution or "", **survey)
    uow.commit()
    return shown


def add_comment(uow, ticket_id: str, payload: dict) -> dict:
    data = load_or_422(schema_of(CommentInputSchema), payload)
    ticket = locked(uow, ticket_id)
    now = touch(uow, ticket)
    comment = Comment(ticket_id=ticket.id, at=now, by=uow.context.actor, **data)
    uow.session.add(comment)
    if comment.public:
        public_update(uow, ticket, now, calendar_of(ticket))
    uow.session.flush()
    shown = schema_of(CommentSchema).dump(comment)
    uow.emit("ticket.commented", {"ticket": present(ticket, now), "comment": shown})
    uow.commit()
    return shown


def hold_ticket(uow, ticket_id: str, payload: dict, expected_version: int | None = None) -> dict:
    """待跟进: pause the resolution and update clocks while waiting for the customer."""
    data = load_or_422(schema_of(HoldInputSchema), payload)
    ticket = locked(uow, ticket_id, expected_version)
    domain.check_can_hold(ticket.state, ticket.on_hold)
    now = touch(uow, ticket)
    pause_for_hold(uow, ticket, now, calendar_of(ticket))
    ticket.on_hold = True
    uow.session.add(Hold(ticket_id=ticket.id, reason=data["reason"], started_at=now,
                         started_by=uow.context.actor))
    shown = present(ticket, now)
    uow.emit("ticket.held", {"ticket": shown, "reason": data["reason"]})
    uow.commit()
    return shown


def _end_hold(uow, ticket: Ticket, now: datetime, calendar) -> None:
    resume_after_hold(ticket, now, calendar)
    ticket.on_hold = False
    hold = uow.session.scalars(select(Hold).where(Hold.ticket_id == ticket.id,
                                                  Hold.ended_at.is_(None))).one()
    hold.ended_at, hold.ended_by = now, uow.context.actor
    held_seconds = round((now - hold.started_at).total_seconds())
    uow.emit("ticket.resumed", {"ticket": present(ticket, now), "held_seconds": held_seconds})


def resume_ticket(uow, ticket_id: str, expected_version: int | None = None) -> dict:
    ticket = locked(uow, ticket_id, expected_version)
    domain.check_can_resume(ticket.on_hold, ticket.state)
    now = touch(uow, ticket)
    _end_hold(uow, ticket, now, calendar_of(ticket))
    uow.commit()
    return present(ticket, now)
