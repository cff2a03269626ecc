"""The read model in SQL: the event log, additive upserts of the aggregator's deltas, and the
range queries behind the summary. Works on PostgreSQL and SQLite."""
from collections import Counter
from dataclasses import fields
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import (
    and_, bindparam, delete, func, literal, null, or_, select, text, union_all,
)

from services.common.db import ADVISORY_LOCKS, is_postgres
from services.reporting import domain, periods, summary
from services.reporting.bulk import Together, Upsert, add_n, replace
from services.reporting.models import (
    CurrentCount, CustomerRow, DailyCount, DurationHistogram, EventLog, PeriodCount, TicketRow,
)

ID_CHUNK = 2000
READ_MODEL = (DailyCount, PeriodCount, DurationHistogram, CurrentCount, CustomerRow, TicketRow)
ROLLUPS = {periods.WEEK: periods.week_of, periods.MONTH: periods.month_of}
CUSTOMER_FIELDS = tuple(field.name for field in fields(domain.CustomerState))
TICKET_FIELDS = tuple(field.name for field in fields(domain.TicketState))

# The statements of consumption, built once (see :mod:`services.reporting.bulk`).

# The advisory locks of the entities ``keys``, taken by the statement that logs the batch
# (an uncorrelated subquery: PostgreSQL runs it once, before the first row is written).
LOCKED = f"{ADVISORY_LOCKS} >= 0"
LOG = Upsert(EventLog, ("id",), returning="id", guard=LOCKED)


def _states_statement():
    """The customers with ids ``customers`` and the tickets with ids ``tickets`` in one
    select: ``(is a ticket, id, *customer fields, *ticket fields)``, the other kind's
    fields null."""
    customers, tickets = CustomerRow.__table__, TicketRow.__table__
    customer_columns = [customers.c[name] for name in CUSTOMER_FIELDS]
    ticket_columns = [tickets.c[name] for name in TICKET_FIELDS]
    return union_all(
        select(literal(False), customers.c.id, *customer_columns,
               *[null().cast(column.type) for column in ticket_columns])
        .where(customers.c.id.in_(bindparam("customers", expanding=True))),
        select(literal(True), tickets.c.id,
               *[null().cast(column.type) for column in customer_columns], *ticket_columns)
        .where(tickets.c.id.in_(bindparam("tickets", expanding=True))))


STATES = _states_statement()


def _counter(model, key: tuple) -> Upsert:
    """Adds ``n`` to the counter with the ``key`` columns; rows are ``(*key, n)``."""
    return Upsert(model, key, add_n, columns=(*key, "n"))


ADD_DAILY = _counter(DailyCount, ("day", "metric", "dimension", "value"))
ADD_PERIOD = _counter(PeriodCount, ("period", "start", "metric", "dimension", "value"))
ADD_DURATION = _counter(DurationHistogram, ("clock", "period", "start", "seconds"))
ADD_CURRENT = _counter(CurrentCount, ("dimension", "value"))
REPLACE_CUSTOMER = Upsert(CustomerRow, ("id",), replace(("id",)))
REPLACE_TICKET = Upsert(TicketRow, ("id",), replace(("id",)))
FLUSH = Together(ADD_DAILY, ADD_PERIOD, ADD_DURATION, ADD_CURRENT, REPLACE_CUSTOMER,
                 REPLACE_TICKET)


# --- the event log -------------------------------------------------------------------------

def record_events(session, events: list[tuple[dict, datetime]], now: datetime,
                  keys) -> set:
    """Log ``(envelope, occurred_at)`` pairs in order, in one statement; return the ids
    logged now (not the ones logged before, an id repeated in the list counts once).

    On PostgreSQL the same statement first serialises the events of each customer or ticket
    in ``keys`` across workers and instances (SQLite already serialises every writing
    transaction): the locks are taken in the order of their hashes, the same in every
    transaction, so two batches sharing entities wait for each other instead of
    deadlocking, and before the log rows, so two deliveries of one event cannot each hold
    what the other waits for. ``ON CONFLICT DO NOTHING`` waits for a concurrent insert of
    the same id to commit, so two deliveries handled at once still take effect once."""
    rows = {}
    for envelope, occurred_at in events:
        rows.setdefault(envelope["id"], dict(
            id=envelope["id"], type=envelope["type"], source=envelope["source"],
            occurred_at=occurred_at, envelope=envelope, received_at=now))
    return LOG.execute(session, list(rows.values()), {"keys": sorted(keys)})


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
    customers, tickets = {}, {}
    customer_ids, ticket_ids = sorted(customer_ids), sorted(ticket_ids)
    split = 1 + len(CUSTOMER_FIELDS)
    for start in range(0, max(len(customer_ids), len(ticket_ids)), ID_CHUNK):
        for row in session.connection().execute(STATES, {
                "customers": customer_ids[start:start + ID_CHUNK],
                "tickets": ticket_ids[start:start + ID_CHUNK]}):
            if row[0]:
                tickets[row[1]] = domain.TicketState(*row[split + 1:])
            else:
                customers[row[1]] = domain.CustomerState(*row[2:split + 1])
    return customers, tickets


# --- writing the aggregator's results ------------------------------------------------------

def flush(session, aggregator: domain.Aggregator) -> None:
    """Add the aggregator's deltas and write back the states it changed, a statement per
    table.

    Rows go in key order, so concurrent transactions lock shared counters in the same order
    and cannot deadlock."""
    FLUSH.execute(session, [
        _deltas(ADD_DAILY, aggregator.counts),
        _deltas(ADD_PERIOD, _rolled_up(aggregator.counts)),
        _deltas(ADD_DURATION, _by_day_and_week(aggregator.durations)),
        _deltas(ADD_CURRENT, aggregator.current),
        [_state_row(key, aggregator.customers[key], CUSTOMER_FIELDS)
         for key in sorted(aggregator.dirty_customers)],
        [_state_row(key, aggregator.tickets[key], TICKET_FIELDS)
         for key in sorted(aggregator.dirty_tickets)]])


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


def _state_row(key: str, state, names: tuple) -> dict:
    row = {name: getattr(state, name) for name in names}
    row["id"] = key
    return row


def _deltas(upsert: Upsert, deltas) -> list[dict]:
    """The rows of the non-zero deltas ``{key: n}``, in key order."""
    columns = upsert.columns
    return [dict(zip(columns, (*key, n))) for key, n in sorted(deltas.items()) if n]


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
