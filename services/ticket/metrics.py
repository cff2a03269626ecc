"""The ticket figures ``/metrics`` shows, computed by aggregate queries at scrape time."""
from collections import Counter

from sqlalchemy import case, func, select

from services.ticket import domain, sla
from services.ticket.models import ArchivedTicket, SlaClock, Ticket

HISTOGRAM_BUCKETS = (60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 259200,
                     604800)


def _histogram(session, clock: str) -> dict:
    elapsed = SlaClock.elapsed_seconds
    columns = [func.count(), func.coalesce(func.sum(elapsed), 0.0)]
    columns += [func.coalesce(func.sum(case((elapsed <= bound, 1), else_=0)), 0)
                for bound in HISTOGRAM_BUCKETS]
    row = session.execute(select(*columns).where(SlaClock.clock == clock,
                                                 SlaClock.stopped_at.is_not(None))).one()
    return {"count": row[0], "sum": float(row[1]),
            "buckets": [[bound, int(value)] for bound, value in zip(HISTOGRAM_BUCKETS, row[2:])]}


def metrics(uow) -> dict:
    """Figures for ``/metrics``: tickets by state, SLA alerts by clock (totals so far) and the
    distributions of first-response and resolution times."""
    session = uow.session
    by_state = Counter()
    for model in (Ticket, ArchivedTicket):  # an archived ticket still counts (as closed)
        by_state.update(dict(session.execute(
            select(model.state, func.count()).group_by(model.state)).all()))
    alerts = session.execute(select(SlaClock.clock, func.count(SlaClock.warned_at),
                                    func.count(SlaClock.breached_at)).group_by(SlaClock.clock)).all()
    figures = {
        "tickets_by_state": {state: by_state.get(state, 0) for state in domain.STATES},
        "sla_warnings": {clock: 0 for clock in sla.CLOCKS},
        "sla_breaches": {clock: 0 for clock in sla.CLOCKS},
        "first_response_seconds": _histogram(session, "first_response"),
        "resolution_seconds": _histogram(session, "resolution"),
    }
    for clock, warned, breached in alerts:
        figures["sla_warnings"][clock], figures["sla_breaches"][clock] = warned, breached
    uow.rollback()
    return figures
