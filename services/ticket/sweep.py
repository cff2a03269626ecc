"""The sweeps: the SLA warnings and breaches, and the delay notices (告知延期), that fall due
between requests."""
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import func, select

from services.ticket import domain, sla
from services.ticket.clocks import catch_up
from services.ticket.models import SlaClock, Ticket
from services.ticket.notices import DELAY, latest_public_comment, tell_customer
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


# Open tickets whose customer wants to hear of a delay and has not yet.
_UNTOLD = (Ticket.state.in_(domain.OPEN_STATES), Ticket.notify_customer.is_(True),
           Ticket.delay_notified_at.is_(None))


def due_delays_query(now: datetime, limit: int):
    """Open tickets whose planned completion date (a UTC day) has passed and whose customer
    has not been told yet."""
    return (select(Ticket).where(Ticket.planned_completion_date < now.date(), *_UNTOLD)
            .order_by(Ticket.planned_completion_date).limit(limit)
            .with_for_update(skip_locked=True))


def notify_delays(uow, limit: int = SWEEP_BATCH) -> int:
    """Tell each customer once that their ticket is late, quoting the latest public comment
    as the reason; returns how many tickets were late."""
    now = uow.now()
    tickets = uow.session.scalars(due_delays_query(now, limit)).all()
    for ticket in tickets:
        ticket.delay_notified_at = now
        tell_customer(uow, ticket, DELAY, now,
                      planned_completion_date=ticket.planned_completion_date.isoformat(),
                      reason=latest_public_comment(uow.session, ticket.id))
    uow.commit()
    return len(tickets)


def sweep_all(uow) -> None:
    """The warnings, breaches and delay notices due now, batch after batch."""
    while sweep(uow) == SWEEP_BATCH:
        pass
    while notify_delays(uow) == SWEEP_BATCH:
        pass


def next_due(uow) -> datetime | None:
    """When the sweeps next have something to do, as the database stands: the earliest
    clock check, or the day after the earliest planned completion date not yet told of;
    None when nothing waits."""
    session = uow.session
    moments = [session.scalar(select(func.min(SlaClock.next_check_at)))]
    late = session.scalar(select(func.min(Ticket.planned_completion_date)).where(*_UNTOLD))
    if late is not None:
        moments.append(datetime.combine(late + timedelta(days=1), time.min, timezone.utc))
    return min((moment for moment in moments if moment is not None), default=None)
