"""The events the ticket service emits (exchange ``tickets.events``) and the command it
consumes; see :mod:`services.common.events`."""
from marshmallow import fields, validate

from services.common.events import Catalogue
from services.common.schemas import FieldChangeSchema
from services.ticket import domain, sla
from services.ticket.schemas import (
    CommentSchema, CustomerNoticeSchema, RatingSchema, TicketAttachmentSchema, TicketInputSchema,
    TicketSchema,
)

EVENTS = Catalogue("tickets")


def _ticket():
    return fields.Nested(TicketSchema, required=True)


def _clock():
    return fields.String(required=True, validate=validate.OneOf(sla.CLOCKS))


def _declare(event_type: str, summary: str, **members) -> None:
    """Every ticket event carries the whole ticket as it is after the change."""
    EVENTS.declare(event_type, summary, ticket=_ticket(), **members)


def _sla_alert(event_type: str, summary: str) -> None:
    _declare(event_type, summary, clock=_clock(), due_at=fields.AwareDateTime(required=True),
             target_seconds=fields.Integer(required=True),
             elapsed_seconds=fields.Integer(required=True))


_declare("ticket.created", "A ticket was opened.")
_declare("ticket.updated", "Fields of a ticket changed.",
         changes=fields.List(fields.Nested(FieldChangeSchema), required=True))
_declare("ticket.assigned", "A ticket got a new owner.",
         previous_owner=fields.String(required=True, allow_none=True))
_declare("ticket.transitioned", "A ticket changed state.", **{
    "from": fields.String(required=True, validate=validate.OneOf(domain.STATES)),
    "to": fields.String(required=True, validate=validate.OneOf(domain.STATES)),
    "note": fields.String(required=True, allow_none=True),
    "by": fields.String(required=True, allow_none=True),
    "at": fields.AwareDateTime(required=True)})
_declare("ticket.commented", "A comment was added.",
         comment=fields.Nested(CommentSchema, required=True))
_declare("ticket.held", "A ticket waits for the customer; its clocks pause.",
         reason=fields.String(required=True))
_declare("ticket.resumed", "A held ticket resumed.", held_seconds=fields.Integer(required=True))
_declare("ticket.rated", "The customer rated a ticket (every answer of the survey).",
         rating=fields.Nested(RatingSchema, required=True))
_declare("ticket.dissatisfied", "A rating scored 2 or less: the owner and their manager "
         "follow it up.", rating=fields.Nested(RatingSchema, required=True))
_declare("ticket.customer_notified", "An email to the customer is due (acknowledgement, "
         "delay, outcome naming its survey).",
         notice=fields.Nested(CustomerNoticeSchema, required=True))
_sla_alert("ticket.sla_warning", "80% of an SLA clock has run (once per clock and cycle).")
_sla_alert("ticket.sla_breached", "An SLA clock ran out (once per clock and cycle).")
_declare("ticket.sla_stopped", "An SLA clock cycle ended.", clock=_clock(),
         started_at=fields.AwareDateTime(required=True),
         stopped_at=fields.AwareDateTime(required=True),
         elapsed_seconds=fields.Integer(required=True),
         target_seconds=fields.Integer(required=True), met=fields.Boolean(required=True))
_declare("ticket.attachment_added", "A file was attached to a ticket (the bytes are in the "
         "attachment store under sha256, never in the event).",
         attachment=fields.Nested(TicketAttachmentSchema, required=True))
_declare("ticket.attachment_removed", "An attachment of a ticket was removed.",
         attachment=fields.Nested(TicketAttachmentSchema, required=True),
         by=fields.String(required=True))

EVENTS.command("ticket.create", "Open a ticket.", TicketInputSchema)
