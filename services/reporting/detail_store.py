"""The detail rows in SQL: writing what :mod:`services.reporting.details` returns, and
reading a range back in pages (keyset order, so page 1,000 costs what page 1 costs)."""
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import delete, func, or_, select, tuple_, update

from services.common.db import upsert
from services.reporting.details import Row
from services.reporting.exports.details import DETAIL_COLUMNS
from services.reporting.models import (
    ConvertedCustomer, FollowupDetail, RatingDetail, TicketDetail,
)

TABLES = (ConvertedCustomer, TicketDetail, RatingDetail, FollowupDetail)


def clear(session) -> None:
    for model in TABLES:
        session.execute(delete(model))


def write(session, rows: list[Row]) -> None:
    for row in rows:
        WRITERS[row.kind](session, row.values)


def _newer(model, excluded):
    """An upsert's condition: the incoming snapshot is not older than the stored one."""
    return or_(model.updated_at.is_(None), excluded.updated_at.is_(None),
               excluded.updated_at >= model.updated_at)


def _upsert(session, model, values: dict, key: str, only_newer: bool = True) -> None:
    statement = upsert(session, model.__table__).values(**values)
    columns = {name: statement.excluded[name] for name in values if name != key}
    session.execute(statement.on_conflict_do_update(
        index_elements=[key], set_=columns,
        where=_newer(model, statement.excluded) if only_newer else None))


def _customer_converted(session, values: dict) -> None:
    _upsert(session, ConvertedCustomer, values, "id", only_newer=False)


def _customer_seen(session, values: dict) -> None:
    """Keep a converted customer's name, owner and deal current; others have no row."""
    changes = {name: value for name, value in values.items() if name != "id"}
    query = update(ConvertedCustomer).where(ConvertedCustomer.id == values["id"])
    if values["updated_at"] is not None:
        query = query.where(or_(ConvertedCustomer.updated_at.is_(None),
                                ConvertedCustomer.updated_at <= values["updated_at"]))
    session.execute(query.values(**changes))


def _ticket(session, values: dict) -> None:
    _upsert(session, TicketDetail, values, "id")


def _clock(session, values: dict) -> None:
    """A clock once breached stays breached (a reopened ticket's later cycle is met)."""
    column = getattr(TicketDetail, values["clock"])
    session.execute(update(TicketDetail)
                    .where(TicketDetail.id == values["id"],
                           or_(column.is_(None), column != "breached"))
                    .values({values["clock"]: values["outcome"]}))


def _rating(session, values: dict) -> None:
    _upsert(session, RatingDetail, values, "ticket_id", only_newer=False)


def _followup(session, values: dict) -> None:
    _upsert(session, FollowupDetail, values, "id", only_newer=False)


WRITERS = {"customer_converted": _customer_converted, "customer_seen": _customer_seen,
           "ticket": _ticket, "clock": _clock, "rating": _rating, "followup": _followup}


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
