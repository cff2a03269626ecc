"""The archive: once a month, closed tickets untouched for ``ARCHIVE_AFTER_MONTHS`` move out
of the working tables into ``archived_tickets`` (the ticket as the API showed it and its
history, in one row). Reads still find them; nothing about them can change any more.

The move emits no event: the reporting service's figures come from the events the ticket
already emitted, and an archived ticket is the same ticket. Its SLA clock cycles stay where
``/metrics`` counts them, and ``/metrics`` counts archived tickets as closed, so no figure
moves either."""
from datetime import datetime

from sqlalchemy import delete, select

from services.common.retention import months_before, run_monthly
from services.ticket import domain
from services.ticket.models import (
    ArchivedTicket, Comment, CustomerNotice, Hold, Rating, Survey, Ticket, Transition,
)
from services.ticket.presentation import history_entries, present

ARCHIVE_JOB = "tickets.archive"
ARCHIVE_BATCH = 200


def archive_due(uow, months: int) -> int:
    """This month's archive run, unless it already ran; returns how many tickets moved."""
    return run_monthly(uow, ARCHIVE_JOB, lambda: archive_closed(uow, months))


def archive_closed(uow, months: int, batch: int = ARCHIVE_BATCH) -> int:
    """Move every closed ticket whose last change is older than ``months``, batch by batch
    (each batch one transaction; rows another worker holds are left to it)."""
    moved = 0
    while True:
        now = uow.now()
        tickets = uow.session.scalars(
            select(Ticket).where(Ticket.state == "closed",
                                 Ticket.updated_at <= months_before(now, months))
            .order_by(Ticket.updated_at).limit(batch).with_for_update(skip_locked=True)).all()
        for ticket in tickets:
            _move(uow.session, ticket, now)
        uow.commit()
        moved += len(tickets)
        if len(tickets) < batch:
            return moved


def _move(session, ticket: Ticket, now: datetime) -> None:
    session.add(ArchivedTicket(
        id=ticket.id, customer_id=ticket.customer_id, category=ticket.category,
        priority=ticket.priority, owner=ticket.owner, state=ticket.state,
        escalated=ticket.escalated, channel=ticket.channel, department=ticket.department,
        late_entry=ticket.late_entry,
        status_label=domain.status_label(ticket.state, ticket.on_hold, ticket.resolution),
        created_at=ticket.created_at, updated_at=ticket.updated_at,
        archived_at=now, ticket={**present(ticket, now), "archived": True},
        history=history_entries(session, ticket)))
    for model in (Transition, Comment, Hold, Rating, CustomerNotice, Survey):
        session.execute(delete(model).where(model.ticket_id == ticket.id))
    session.execute(delete(Ticket).where(Ticket.id == ticket.id))
