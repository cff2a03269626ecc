"""How a ticket is shown: the API's view of a ticket with its ``sla`` block and rating."""
from datetime import datetime

from marshmallow import fields
from sqlalchemy import select

from services.common.context import SYSTEM_ACTOR
from services.common.schemas import schema_of
from services.ticket import domain, sla
from services.ticket.models import Comment, CustomerNotice, Hold, SlaClock, Ticket, Transition
from services.ticket.schemas import TicketHistoryEntrySchema, RatingSchema, TicketSchema

DERIVED = ("sla", "archived", "status_label", "rating")


def dumper(schema):
    """A dump of ``schema`` for values already of their fields' types (read from the database,
    computed here), not input to check: the output of ``schema.dump`` (a missing key is left
    out, None stays None) without marshmallow's per-field machinery, which cost about a tenth
    of a ticket read. It knows the field types below; another one fails here, at import."""
    converters = {name: _converter(field) for name, field in schema.fields.items()}

    def dump(values: dict) -> dict:
        return {name: None if (value := values[name]) is None else convert(value)
                for name, convert in converters.items() if name in values}
    return dump


def _converter(field):
    """How ``field`` dumps a value other than None, as marshmallow does it."""
    if isinstance(field, fields.Nested) and not field.many:
        return dumper(field.schema)
    if type(field) in (fields.AwareDateTime, fields.DateTime, fields.Date):
        return field.SERIALIZATION_FUNCS[field.format or field.DEFAULT_FORMAT]
    if getattr(field, "as_string", False):
        raise TypeError(f"{field!r}: a number dumped as a string")
    return {fields.String: str, fields.Integer: int, fields.Float: float,
            fields.Boolean: bool}[type(field)]


# The ticket's own columns the API shows, and the ticket's dump.
STORED = tuple(name for name in schema_of(TicketSchema).fields if name not in DERIVED)
_dump_ticket = dumper(schema_of(TicketSchema))


def calendar_of(ticket) -> sla.Calendar | None:
    return sla.Calendar.from_policy(ticket.sla_calendar)


def current_cycle(ticket: Ticket, clock: str) -> SlaClock | None:
    return _current(ticket.clocks, clock)


def _current(cycles: list, clock: str):
    """The latest of ``cycles`` of ``clock``, or None."""
    cycles = [row for row in cycles if row.clock == clock]
    return max(cycles, key=lambda row: row.cycle) if cycles else None


def present(ticket: Ticket, now: datetime) -> dict:
    """The ticket as the API shows it, with its ``sla`` block and rating."""
    rating = ticket.rating
    return present_parts(ticket, ticket.clocks, None if rating is None else {
        name: getattr(rating, name) for name in schema_of(RatingSchema).fields}, now)


def present_parts(ticket, cycles: list, rating: dict | None, now: datetime) -> dict:
    """:func:`present` from its parts, read as rows or as ORM objects: ``ticket`` has the
    ticket's columns as attributes, ``cycles`` are its SLA clocks' cycles (with the
    attributes of :class:`sla.ClockCycle`), ``rating`` is its rating's values or None."""
    calendar = calendar_of(ticket)
    values = {name: getattr(ticket, name) for name in STORED}
    values["archived"] = False
    values["status_label"] = domain.status_label(ticket.state, ticket.on_hold, ticket.resolution)
    values["sla"] = {name: sla.summary(cycle, now, calendar) for name in sla.CLOCKS
                     if (cycle := _current(cycles, name)) is not None}
    values["rating"] = rating
    return _dump_ticket(values)


def history_entries(session, ticket: Ticket) -> list[dict]:
    """Transitions, comments, holds, the rating and the notices sent to the customer of
    ``ticket``, oldest first, as shown."""
    entries = [{"kind": "transition", "at": row.at, "by": row.by,
                "details": {"from": row.from_state, "to": row.to_state, "note": row.note}}
               for row in session.scalars(
                   select(Transition).where(Transition.ticket_id == ticket.id))]
    entries += [{"kind": "comment", "at": row.at, "by": row.by,
                 "details": {"id": row.id, "body": row.body, "public": row.public}}
                for row in session.scalars(select(Comment).where(Comment.ticket_id == ticket.id))]
    for hold in session.scalars(select(Hold).where(Hold.ticket_id == ticket.id)):
        entries.append({"kind": "hold", "at": hold.started_at, "by": hold.started_by,
                        "details": {"reason": hold.reason}})
        if hold.ended_at is not None:
            held = (hold.ended_at - hold.started_at).total_seconds()
            entries.append({"kind": "resume", "at": hold.ended_at, "by": hold.ended_by,
                            "details": {"held_seconds": held}})
    if ticket.rating is not None:
        rating = schema_of(RatingSchema).dump(ticket.rating)
        entries.append({"kind": "rating", "at": ticket.rating.at, "by": ticket.rating.by,
                        "details": {key: value for key, value in rating.items()
                                    if key not in ("at", "by")}})
    entries += [{"kind": "customer_notice", "at": row.at, "by": SYSTEM_ACTOR,
                 "details": {"notice": row.kind, "to": row.to, "language": row.language}}
                for row in session.scalars(select(CustomerNotice).where(
                    CustomerNotice.ticket_id == ticket.id).order_by(CustomerNotice.id))]
    entries.sort(key=lambda entry: entry["at"])
    return schema_of(TicketHistoryEntrySchema, many=True).dump(entries)
