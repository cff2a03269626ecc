"""The detail rows of the exports (明细数据), in plain Python: which row each consumed event
writes. Customers converted in the range, tickets created in it with the outcome of their
SLA clocks, ratings with their survey answers, and follow-ups. The store
(:mod:`services.reporting.detail_store`) writes the rows these rules return."""
from dataclasses import dataclass
from datetime import date, datetime

from marshmallow import fields

from services.common.schemas import load_or_422, schema_of
from services.reporting import schemas
from services.reporting.domain import PRE_DEAL_TYPES, day_of
from services.reporting.schemas import (
    CustomerSnapshotSchema, FollowupSnapshotSchema, RatingSnapshotSchema, TicketSnapshotSchema,
)

DETAIL_CLOCKS = ("first_response", "resolution")


class CustomerDetailSchema(CustomerSnapshotSchema):
    name = fields.String(allow_none=True, load_default=None)
    owner = fields.String(allow_none=True, load_default=None)
    deal_amount = fields.Float(allow_none=True, load_default=None)
    deal_product = fields.String(allow_none=True, load_default=None)
    signed_date = fields.Date(allow_none=True, load_default=None)


class TicketDetailSchema(TicketSnapshotSchema):
    title = fields.String(allow_none=True, load_default=None)
    owner = fields.String(allow_none=True, load_default=None)


class RatingDetailSchema(RatingSnapshotSchema):
    quality = fields.Integer(allow_none=True, load_default=None)
    speed = fields.Integer(allow_none=True, load_default=None)
    effectiveness = fields.Integer(allow_none=True, load_default=None)
    would_cooperate_again = fields.String(allow_none=True, load_default=None)
    comment = fields.String(allow_none=True, load_default=None)
    collected_via = fields.String(allow_none=True, load_default=None)
    by = fields.String(allow_none=True, load_default=None)


class FollowupDetailSchema(FollowupSnapshotSchema):
    id = fields.Integer(required=True)
    customer_id = fields.String(required=True)
    channel = fields.String(allow_none=True, load_default=None)
    subject = fields.String(allow_none=True, load_default=None)
    owner = fields.String(allow_none=True, load_default=None)
    feedback = fields.String(allow_none=True, load_default=None)
    next_action = fields.String(allow_none=True, load_default=None)


class CustomerEventSchema(schemas.CustomerEventSchema):
    customer = fields.Nested(CustomerDetailSchema, required=True)


class TicketEventSchema(schemas.TicketEventSchema):
    ticket = fields.Nested(TicketDetailSchema, required=True)
    rating = fields.Nested(RatingDetailSchema, load_default=None)
    clock = fields.String(load_default=None)
    met = fields.Boolean(load_default=None)


class FollowupEventSchema(schemas.FollowupEventSchema):
    followup = fields.Nested(FollowupDetailSchema, required=True)


@dataclass(frozen=True)
class Row:
    """One write: ``kind`` names the table and how (see the store), ``values`` the columns."""
    kind: str
    values: dict


def rows_of(event_type: str, occurred_at: datetime, data: dict) -> list[Row]:
    """The detail rows one event writes (none for the events the details do not use)."""
    if event_type.startswith("customer."):
        return _customer_rows(event_type, day_of(occurred_at),
                              load_or_422(schema_of(CustomerEventSchema), data))
    if event_type == "followup.logged":
        followup = load_or_422(schema_of(FollowupEventSchema), data)["followup"]
        return [Row("followup", {key: followup.get(key) for key in (
            "id", "customer_id", "at", "channel", "subject", "outcome", "owner", "feedback",
            "next_action")})]
    if event_type.startswith("ticket."):
        return _ticket_rows(event_type, load_or_422(schema_of(TicketEventSchema), data))
    return []


def converted(event_type: str, changes: list) -> bool:
    """The event moved the customer from prospect/intent to deal (as the summary counts
    conversions)."""
    if event_type != "customer.updated":
        return False
    change = next((c for c in changes if c["field"] == "type"), None)
    return (change is not None and change["before"] in PRE_DEAL_TYPES
            and change["after"] == "deal")


def _customer_rows(event_type: str, day: date, data: dict) -> list[Row]:
    customer = data["customer"]
    columns = {key: customer.get(key) for key in ("id", "name", "industry", "owner",
                                                  "deal_amount", "deal_product", "signed_date",
                                                  "updated_at")}
    if converted(event_type, data["changes"]):
        return [Row("customer_converted", {**columns, "converted_on": day})]
    return [Row("customer_seen", columns)]


def _ticket_rows(event_type: str, data: dict) -> list[Row]:
    ticket = data["ticket"]
    rows = [Row("ticket", {key: ticket.get(key) for key in (
        "id", "customer_id", "created_at", "title", "service_type", "category", "priority",
        "owner", "state", "updated_at")})]
    if event_type == "ticket.rated" and data["rating"] is not None:
        rating = data["rating"]
        rows.append(Row("rating", {
            "ticket_id": ticket["id"], "customer_id": ticket["customer_id"],
            "service_type": ticket["service_type"], "category": ticket["category"],
            **{key: rating[key] for key in ("at", "score", "quality", "speed", "effectiveness",
                                            "nps_score", "would_cooperate_again", "comment",
                                            "collected_via")},
            "rated_by": rating["by"]}))
    elif event_type in ("ticket.sla_breached", "ticket.sla_stopped") \
            and data["clock"] in DETAIL_CLOCKS:
        outcome = "met" if event_type == "ticket.sla_stopped" and data["met"] else "breached"
        rows.append(Row("clock", {"id": ticket["id"], "clock": data["clock"],
                                  "outcome": outcome}))
    return rows
