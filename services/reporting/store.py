"""The read model in SQL: the event log, additive upserts of the aggregator's deltas, and the
range queries behind the summary. Works on PostgreSQL and SQLite."""
from collections import Counter
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import and_, delete, func, or_, select, text, union_all

from services.common.db import is_postgres, upsert
from services.reporting import domain, periods, summary
from services.reporting.models import (
    CurrentCount, CustomerRow, DailyCount, DurationHistogram, EventLog, PeriodCount, TicketRow,
)

ID_CHUNK = 2000
READ_MODEL = (DailyCount, PeriodCount, DurationHistogram, CurrentCount, CustomerRow, TicketRow)
ROLLUPS = {periods.WEEK: periods.week_of, periods.MONTH: periods.month_of}


# --- the event log -------------------------------------------------------------------------

def lock_entities(session, keys) -> None:
    """Serialise the events of each customer or ticket in ``keys`` across workers and
    instances, in one statement (SQLite already serialises every writing transaction).

    The locks are taken in the order of their hashes, the same in every transaction, so two
    batches sharing entities wait for each other instead of deadlocking."""
    if keys and is_postgres(session):
        session.execute(text(
            "SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT DISTINCT hashtext(k) AS h"
            " FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS ordered"),
            {"keys": sorted(keys)})


def record_events(session, events: list[tuple[dict, datetime]], now: datetime) -> set:
    """Log ``(envelope, occurred_at)`` pairs in order, in one statement; return the ids
    logged now (not the ones logged before, an id repeated in the list counts once).

    ``ON CONFLICT DO NOTHING`` waits for a concurrent insert of the same id to commit, so two
    deliveries handled at once still take effect once."""
    rows = {}
    for envelope, occurred_at in events:
        rows.setdefault(envelope["id"], dict(
            id=envelope["id"], type=envelope["type"], source=envelope["source"],
            occurred_at=occurred_at, envelope=envelope, received_at=now))
    if not rows:
        return set()
    table = EventLog.__table__
    statement = (
        upsert(session, table)
        .values(list(rows.values()))
        .on_conflict_do_nothing(index_elements=[table.c.id])
        .returning(table.c.id)
    )
    return set(session.scalars(statement))


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
                                     deleted=row.deleted, review=row.review, owner=row.owner,
                                     deal_cents=row.deal_cents, signed_date=row.signed_date,
                                     last_activity_at=row.last_activity_at)
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
    _add(session, PeriodCount, ("period", "start", "metric", "dimension", "value"),
         _rolled_up(aggregator.counts))
    _add(session, DurationHistogram, ("clock", "period", "start", "seconds"),
         _by_day_and_week(aggregator.durations))
    _add(session, CurrentCount, ("dimension", "value"), aggregator.current)
    _replace(session, CustomerRow, [
        {"id": key, **_customer_columns(aggregator.customers[key])}
        for key in sorted(aggregator.dirty_customers)])
    _replace(session, TicketRow, [
        {"id": key, **_ticket_columns(aggregator.tickets[key])}
        for key in sorted(aggregator.dirty_tickets)])


def _rolled_up(counts: Counter) -> Counter:
    """The daily deltas added to their weeks and months."""
    rolled = Counter()
    for (day, *key), n in counts.items():
        for period, start_of in ROLLUPS.items():
            rolled[(period, start_of(day), *key)] += n
    return rolled


def _by_day_and_week(durations: Counter) -> Counter:
    rolled = Counter()
    for (day, clock, seconds), n in durations.items():
        rolled[(clock, periods.DAY, day, seconds)] += n
        for period, start_of in ROLLUPS.items():
            rolled[(clock, period, start_of(day), seconds)] += n
    return rolled


def _customer_columns(state: domain.CustomerState) -> dict:
    return {"type": state.type, "grade": state.grade, "industry": state.industry,
            "source": state.source, "updated_at": state.updated_at, "deleted": state.deleted,
            "review": state.review, "owner": state.owner, "deal_cents": state.deal_cents,
            "signed_date": state.signed_date, "last_activity_at": state.last_activity_at}


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

def read_figures(session, start: date, end: date, now: datetime) -> summary.Figures:
    """Everything the summary needs. Each counter query reads whole months, whole weeks and
    the single days left over (:func:`periods.split_range`), so its cost grows with the
    calendar pieces of the range, not with its days or the history; the backlog reads the
    open tickets, the lifecycle status the customers last active on its two boundary days."""
    current = {(row.dimension, row.value): row.n for row in session.scalars(select(CurrentCount))}
    runs = periods.split_range(start, end)
    return summary.Figures(
        start=start, end=end, current=current,
        counts=_range_counts(session, runs),
        pre_deal_at_start=_pre_deal_before(session, start),
        durations=_range_durations(session, runs),
        ageing=_ageing(session, now),
        boundary_activity=_boundary_activity(session, current, now), now=now,
        revenue_by_month=_by_month(session, runs, ("revenue.cents", domain.ALL, domain.ALL)),
    )


def _counter_rows(runs: dict, *columns, where=()):
    """One select over the daily rows of the range's single days and the roll-up rows of
    its weeks and months, yielding ``(period start, *columns, n)``."""
    selects = [select(DailyCount.day.label("start"),
                      *[getattr(DailyCount, name) for name in columns], DailyCount.n)
               .where(DailyCount.day.between(low, high), *where(DailyCount))
               for low, high in runs[periods.DAY]]
    selects += [select(PeriodCount.start.label("start"),
                       *[getattr(PeriodCount, name) for name in columns], PeriodCount.n)
                .where(PeriodCount.period == period, PeriodCount.start.between(low, high),
                       *where(PeriodCount))
                for period in ROLLUPS for low, high in runs[period]]
    # One range scan per piece (index-only on the covering indexes), not one OR-ed scan.
    return union_all(*selects).subquery()


def _range_counts(session, runs: dict) -> dict:
    rows = _counter_rows(runs, "metric", "dimension", "value", where=lambda model: ())
    statement = (select(rows.c.metric, rows.c.dimension, rows.c.value, func.sum(rows.c.n))
                 .group_by(rows.c.metric, rows.c.dimension, rows.c.value))
    return {(metric, dimension, value): int(n)
            for metric, dimension, value, n in session.execute(statement)}


def _by_month(session, runs: dict, key: tuple) -> dict:
    """``{first day of month: n}`` of one counter over the range (a week of the range's
    pieces never straddles two months: weeks are only taken inside a partial month)."""
    metric, dimension, value = key
    rows = _counter_rows(runs, where=lambda model: (
        model.metric == metric, model.dimension == dimension, model.value == value))
    months = Counter()
    for start, n in session.execute(select(rows.c.start, rows.c.n)):
        months[periods.month_of(start)] += int(n)
    return {month: n for month, n in months.items() if n}


def daily_counters(session, keys: tuple, start: date, end: date) -> dict:
    """``{(day, metric, dimension, value): n}`` of the given counters over ``[start, end]``
    (what a trend is computed from)."""
    wanted = or_(*[and_(DailyCount.metric == metric, DailyCount.dimension == dimension,
                        DailyCount.value == value) for metric, dimension, value in keys])
    rows = session.execute(select(DailyCount.day, DailyCount.metric, DailyCount.dimension,
                                  DailyCount.value, DailyCount.n)
                           .where(DailyCount.day.between(start, end), wanted))
    return {(day, metric, dimension, value): int(n) for day, metric, dimension, value, n in rows}


def _pre_deal_before(session, start: date) -> int:
    """Customers that were prospect or intent when ``start`` began: spells entered minus left."""
    rows = dict(session.execute(
        select(DailyCount.metric, func.sum(DailyCount.n))
        .where(DailyCount.metric.in_(("pre_deal.entered", "pre_deal.left")),
               DailyCount.day < start)
        .group_by(DailyCount.metric)).all())
    return int(rows.get("pre_deal.entered") or 0) - int(rows.get("pre_deal.left") or 0)


def _range_durations(session, runs: dict) -> dict:
    """Histograms of the range: its months, weeks and single days."""
    histogram = DurationHistogram
    pieces = union_all(*[
        select(histogram.clock, histogram.seconds, histogram.n)
        .where(histogram.clock == clock, histogram.period == period,
               histogram.start.between(low, high))
        for clock in domain.TIMED_CLOCKS
        for period, period_runs in runs.items() for low, high in period_runs]).subquery()
    rows = session.execute(select(pieces.c.clock, pieces.c.seconds, func.sum(pieces.c.n))
                           .group_by(pieces.c.clock, pieces.c.seconds))
    histograms = {}
    for clock, seconds, n in rows:
        if n:
            histograms.setdefault(clock, []).append((seconds, int(n)))
    return histograms


def _boundary_activity(session, current: dict, now: datetime) -> list:
    """``(last activity, approved?)`` of the customers last active on the two days a
    lifecycle status boundary falls on (the others are classified by their day, a current
    counter): an indexed read of one or two days' customers."""
    boundary = []
    for day in summary.status_cutoff_days(now):
        if current.get(("customer.activity_day", day.isoformat())):
            first = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            boundary += [(moment, review in (None, "approved")) for moment, review in
                         session.execute(
                             select(CustomerRow.last_activity_at, CustomerRow.review)
                             .where(CustomerRow.last_activity_at >= first,
                                    CustomerRow.last_activity_at < first + timedelta(days=1),
                                    CustomerRow.deleted.is_(False)))]
    return boundary


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
