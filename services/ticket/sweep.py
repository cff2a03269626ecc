"""The SLA sweep: emit the warnings and breaches that fall due between requests."""
from datetime import datetime

from sqlalchemy import select

from services.ticket import sla
from services.ticket.clocks import catch_up
from services.ticket.models import SlaClock, Ticket
from services.ticket.presentation import calendar_of

SWEEP_BATCH = 200


def due_clocks_query(now: datetime, limit: int):
    """The sweep's query: due clock cycles by the ``next_check_at`` index, claimed together
    with their tickets; rows another sweeper (or a request) holds are skipped."""
    return (select(SlaClock, Ticket).join(Ticket, SlaClock.ticket_id == Ticket.id)
            .where(SlaClock.next_check_at <= now).order_by(SlaClock.next_check_at).limit(limit)
            .with_for_update(skip_locked=True, of=[SlaClock.__table__, Ticket.__table__]))


def sweep(uow, limit: int = SWEEP_BATCH) -> int:
    """Emit the SLA warnings and breaches due now; returns how many clock cycles were due."""
    now = uow.now()
    rows = uow.session.execute(due_clocks_query(now, limit)).all()
    for clock, ticket in rows:
        calendar = calendar_of(ticket)
        catch_up(uow, ticket, clock, now, calendar)
        clock.next_check_at = sla.next_check(clock, calendar)
    uow.commit()
    return len(rows)
