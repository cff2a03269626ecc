"""The detail rows in SQL: writing what :mod:`services.reporting.details` returns, and
reading a range back in pages (keyset order, so page 1,000 costs what page 1 costs)."""
from datetime import date, datetime, time, timedelta, timezone
from functools import cache

from sqlalchemy import bindparam, delete, func, or_, select, tuple_, update

from services.reporting.bulk import Upsert, replace
from services.reporting.details import DETAIL_CLOCKS, Row
from services.reporting.exports.details import DETAIL_COLUMNS
from services.reporting.models import (
    ConvertedCustomer, FollowupDetail, RatingDetail, TicketDetail,
)

TABLES = (ConvertedCustomer, TicketDetail, RatingDetail, FollowupDetail)


def clear(session) -> None:
    for model in TABLES:
        session.execute(delete(model))


def write(session, rows: list[Row]) -> None:
    """Write ``rows`` in order: consecutive upserts into one table, each of another row,
    go in one statement."""
    for kind, run in _runs(rows):
        if kind in UPSERTS:
            _upsert_of(kind, tuple(run[0])).execute(session, run)
        else:
            for values in run:
                UPDATES[kind](session, values)


def _runs(rows: list[Row]) -> list[tuple[str, list[dict]]]:
    """``rows`` in runs of consecutive upserts of one kind with distinct keys (an update
    is a run of its own)."""
    runs, keys = [], set()
    for row in rows:
        key = row.values[UPSERTS[row.kind][1]] if row.kind in UPSERTS else None
        if runs and runs[-1][0] == row.kind and key is not None and key not in keys:
            runs[-1][1].append(row.values)
        else:
            runs.append((row.kind, [row.values]))
            keys = set()
        keys.add(key)
    return runs


def _newer(table, excluded):
    """An upsert's condition: the incoming snapshot is not older than the stored one."""
    return or_(table.c.updated_at.is_(None), excluded.updated_at.is_(None),
               excluded.updated_at >= table.c.updated_at)


# Per kind of upsert: its table, key and condition (None: always overwrite).
UPSERTS = {"customer_converted": (ConvertedCustomer, "id", None),
           "ticket": (TicketDetail, "id", _newer),
           "rating": (RatingDetail, "ticket_id", None),
           "followup": (FollowupDetail, "id", None)}


@cache
def _upsert_of(kind: str, columns: tuple) -> Upsert:
    model, key, where = UPSERTS[kind]
    return Upsert(model, (key,), replace((key,)), where=where, columns=columns)


_CONVERTED, _TICKETS = ConvertedCustomer.__table__, TicketDetail.__table__
_SEEN = update(_CONVERTED).where(_CONVERTED.c.id == bindparam("row_id"))
_SEEN_NOT_NEWER = _SEEN.where(or_(_CONVERTED.c.updated_at.is_(None),
                                  _CONVERTED.c.updated_at <= bindparam("row_updated_at")))


def _customer_seen(session, values: dict) -> None:
    """Keep a converted customer's name, owner and deal current; others have no row."""
    changes = {name: value for name, value in values.items() if name != "id"}
    if values["updated_at"] is None:
        session.execute(_SEEN, {"row_id": values["id"], **changes})
    else:
        session.execute(_SEEN_NOT_NEWER, {"row_id": values["id"],
                                          "row_updated_at": values["updated_at"], **changes})


_CLOCKS = {clock: update(_TICKETS).where(
    _TICKETS.c.id == bindparam("row_id"),
    or_(_TICKETS.c[clock].is_(None), _TICKETS.c[clock] != "breached"))
    for clock in DETAIL_CLOCKS}


def _clock(session, values: dict) -> None:
    """A clock once breached stays breached (a reopened ticket's later cycle is met)."""
    session.execute(_CLOCKS[values["clock"]],
                    {"row_id": values["id"], values["clock"]: values["outcome"]})


UPDATES = {"customer_seen": _customer_seen, "clock": _clock}


# --- reading -------------------------------------------------------------------------------

# Per detail table: its model, the column its range is on and its key (the keyset order is
# (range column, key)); the columns an export shows are DETAIL_COLUMNS'.
QUERIES = {
    "detail_converted": (ConvertedCustomer, "converted_on", "id"),
    "detail_tickets": (TicketDetail, "created_at", "id"),
    "detail_ratings": (RatingDetail, "at", "ticket_id"),
    "detail_followups": (FollowupDetail, "at", "id"),
}


def shown(table: str) -> tuple:
    return tuple(name for name, _ in DETAIL_COLUMNS[table])


def _bounds(model, column: str, start: date, end: date):
    """The range condition: days for a date column, UTC moments for a timestamp."""
    attribute = getattr(model, column)
    if column == "converted_on":
        return attribute.between(start, end)
    low = datetime.combine(start, time.min, timezone.utc)
    high = datetime.combine(end + timedelta(days=1), time.min, timezone.utc)
    return (attribute >= low) & (attribute < high)


def count(session, table: str, start: date, end: date) -> int:
    model, column, _ = QUERIES[table]
    return session.scalar(select(func.count()).select_from(model)
                          .where(_bounds(model, column, start, end)))


def page(session, table: str, start: date, end: date, after: tuple | None,
         limit: int) -> list[tuple]:
    """Up to ``limit`` rows of ``table`` in the range after the keyset position ``after``
    (``(range value, key)`` of the last row of the previous page)."""
    model, column, key = QUERIES[table]
    order = (getattr(model, column), getattr(model, key))
    query = select(*(getattr(model, name) for name in shown(table))).where(
        _bounds(model, column, start, end))
    if after is not None:
        query = query.where(tuple_(*order) > tuple_(*after))
    return [tuple(row) for row in session.execute(query.order_by(*order).limit(limit))]


def position(table: str, row: tuple) -> tuple:
    """The keyset position of ``row`` (as :func:`page` returned it)."""
    _, column, key = QUERIES[table]
    names = shown(table)
    return row[names.index(column)], row[names.index(key)]
