"""The read model in SQL: the event log, additive upserts of the aggregator's deltas, and the
range queries behind the summary. Works on PostgreSQL and SQLite."""
from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select, text

from services.common.db import is_postgres, upsert
from services.reporting import domain
from services.reporting.models import (
    CurrentCount, CustomerRow, DailyCount, DurationHistogram, EventLog, TicketRow,
)

ID_CHUNK = 2000
READ_MODEL = (DailyCount, DurationHistogram, CurrentCount, CustomerRow, TicketRow)


# --- the event log -------------------------------------------------------------------------

def lock_entity(session, key: str) -> None:
    """Serialise the events of one customer or ticket across workers and instances (SQLite
    already serialises every writing transaction)."""
    if is_postgres(session):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def record_event(session, envelope: dict, occurred_at: datetime, now: datetime) -> bool:
    """Log the event; False when it was already logged (a repeat delivery).

    ``ON CONFLICT DO NOTHING`` waits for a concurrent insert of the same id to commit, so two
    deliveries handled at once still take effect once."""
    table = EventLog.__table__
    statement = (
        upsert(session, table)
        .values(id=envelope["id"], type=envelope["type"], source=envelope["source"],
                occurred_at=occurred_at, envelope=envelope, received_at=now)
        .on_conflict_do_nothing(index_elements=[table.c.id])
        .returning(table.c.seq)
    )
    return session.execute(statement).first() is not None


def logged_events(session, after_seq: int, limit: int) -> list[EventLog]:
    return session.scalars(select(EventLog).where(EventLog.seq > after_seq)
                           .order_by(EventLog.seq).limit(limit)).all()


def lock_log(session) -> None:
    """Hold off consumers while the read model is rebuilt from the log."""
    if is_postgres(session):
        session.execute(text("LOCK TABLE event_log IN EXCLUSIVE MODE"))


def clear_read_model(session) -> None:
    for model in READ_MODEL:
        session.execute(delete(model))


# --- current states ------------------------------------------------------------------------

def load_states(session, customer_ids, ticket_ids) -> tuple[dict, dict]:
    customers = {
        row.id: domain.CustomerState(type=row.type, grade=row.grade, industry=row.industry,
                                     source=row.source, updated_at=row.updated_at,
                                     deleted=row.deleted, review=row.review)
        for row in _rows_with_ids(session, CustomerRow, customer_ids)
    }
    tickets = {
        row.id: domain.TicketState(customer_id=row.customer_id, state=row.state,
                                   service_type=row.service_type, category=row.category,
                                   priority=row.priority, created_at=row.created_at,
                                   updated_at=row.updated_at, times=row.times,
                                   status_label=row.status_label)
        for row in _rows_with_ids(session, TicketRow, ticket_ids)
    }
    return customers, tickets


def _rows_with_ids(session, model, ids) -> list:
    ids, rows = sorted(ids), []
    for start in range(0, len(ids), ID_CHUNK):
        rows += session.scalars(select(model).where(model.id.in_(ids[start:start + ID_CHUNK])))
    return rows


# --- writing the aggregator's results ------------------------------------------------------

def flush(session, aggregator: domain.Aggregator) -> None:
    """Add the aggregator's deltas and write back the states it changed.

    Rows go in key order, so concurrent transactions lock shared counters in the same order
    and cannot deadlock."""
    _add(session, DailyCount, ("day", "metric", "dimension", "value"), aggregator.counts)
    _add(session, DurationHistogram, ("clock", "period", "start", "seconds"),
         _by_day_and_week(aggregator.durations))
    _add(session, CurrentCount, ("dimension", "value"), aggregator.current)
    _replace(session, CustomerRow, [
        {"id": key, **_customer_columns(aggregator.customers[key])}
        for key in sorted(aggregator.dirty_customers)])
    _replace(session, TicketRow, [
        {"id": key, **_ticket_columns(aggregator.tickets[key])}
        for key in sorted(aggregator.dirty_tickets)])


def _by_day_and_week(durations: Counter) -> Counter:
    periods = Counter()
    for (day, clock, seconds), n in durations.items():
        periods[(clock, "day", day, seconds)] += n
        periods[(clock, "week", domain.week_of(day), seconds)] += n
    return periods


def _customer_columns(state: domain.CustomerState) -> dict:
    return {"type": state.type, "grade": state.grade, "industry": state.industry,
            "source": state.source, "updated_at": state.updated_at, "deleted": state.deleted,
            "review": state.review}


def _ticket_columns(state: domain.TicketState) -> dict:
    return {"customer_id": state.customer_id, "state": state.state,
            "service_type": state.service_type, "category": state.category,
            "priority": state.priority, "created_at": state.created_at,
            "updated_at": state.updated_at, "times": state.times,
            "status_label": state.status_label}


def _add(session, model, key_columns: tuple, deltas) -> None:
    rows = [dict(zip(key_columns, key), n=n) for key, n in sorted(deltas.items()) if n]
    if not rows:
        return
    table = model.__table__
    statement = upsert(session, table)
    session.execute(statement.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={"n": table.c.n + statement.excluded.n}), rows)


def _replace(session, model, rows: list[dict]) -> None:
    if not rows:
        return
    table = model.__table__
    statement = upsert(session, table)
    session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.id],
        set_={name: statement.excluded[name] for name in rows[0] if name != "id"}), rows)


# --- reading figures -----------------------------------------------------------------------

def read_figures(session, start: date, end: date, now: datetime) -> domain.Figures:
    """Everything the summary needs, in five queries whose cost grows with the days (and
    weeks) in the range, and for the backlog with the open tickets, not with the history."""
    return domain.Figures(
        start=start, end=end,
        current={(row.dimension, row.value): row.n
                 for row in session.scalars(select(CurrentCount))},
        counts=_range_counts(session, start, end),
        pre_deal_at_start=_pre_deal_before(session, start),
        durations=_range_durations(session, start, end),
        ageing=_ageing(session, now),
    )


def _range_counts(session, start: date, end: date) -> dict:
    total = func.sum(DailyCount.n)
    rows = session.execute(
        select(DailyCount.metric, DailyCount.dimension, DailyCount.value, total)
        .where(DailyCount.day.between(start, end))
        .group_by(DailyCount.metric, DailyCount.dimension, DailyCount.value))
    return {(metric, dimension, value): int(n) for metric, dimension, value, n in rows}


def _pre_deal_before(session, start: date) -> int:
    """Customers that were prospect or intent when ``start`` began: spells entered minus left."""
    rows = dict(session.execute(
        select(DailyCount.metric, func.sum(DailyCount.n))
        .where(DailyCount.metric.in_(("pre_deal.entered", "pre_deal.left")),
               DailyCount.day < start)
        .group_by(DailyCount.metric)).all())
    return int(rows.get("pre_deal.entered") or 0) - int(rows.get("pre_deal.left") or 0)


def _range_durations(session, start: date, end: date) -> dict:
    """Histograms of the range: whole weeks from the weekly rows, the rest from daily ones."""
    histogram = DurationHistogram
    weeks, edges = domain.split_into_weeks(start, end)
    periods = [(histogram.period == "day") & histogram.start.between(low, high)
               for low, high in edges]
    if weeks is not None:
        periods.append((histogram.period == "week") & histogram.start.between(*weeks))
    rows = session.execute(
        select(histogram.clock, histogram.seconds, func.sum(histogram.n))
        .where(histogram.clock.in_(domain.TIMED_CLOCKS), or_(*periods))
        .group_by(histogram.clock, histogram.seconds))
    histograms = {}
    for clock, seconds, n in rows:
        if n:
            histograms.setdefault(clock, []).append((seconds, int(n)))
    return histograms


def _ageing(session, now: datetime) -> dict:
    """Open tickets by age: one pass over the open tickets' index entries."""
    columns = []
    for label, low, high in domain.AGEING:
        conditions = [TicketRow.created_at <= now - timedelta(days=low)] if low else []
        if high is not None:
            conditions.append(TicketRow.created_at > now - timedelta(days=high))
        columns.append(func.count().filter(and_(*conditions)).label(label))
    row = session.execute(select(*columns).where(TicketRow.state.in_(domain.OPEN_STATES))).one()
    return dict(row._mapping)
