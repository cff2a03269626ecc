"""The events the customer service emits (exchange ``customers.events``) and the command it
consumes; see :mod:`services.common.events`."""
from marshmallow import Schema, fields, validate

from services.common.events import Catalogue
from services.common.schemas import FieldChangeSchema
from services.customer import domain
from services.customer.schemas import (
    CustomerAttachmentSchema, CustomerInputSchema, CustomerSchema, FollowupSchema,
)

EVENTS = Catalogue("customers")


def _customer():
    return fields.Nested(CustomerSchema, required=True)


EVENTS.declare("customer.created", "A customer was created.", customer=_customer())
EVENTS.declare("customer.updated", "Fields of a customer changed.", customer=_customer(),
               changes=fields.List(fields.Nested(FieldChangeSchema), required=True),
               contact_changed=fields.Boolean(required=True))
EVENTS.declare("customer.deleted", "A customer was deleted.", customer=_customer())
ReviewStepSchema = Schema.from_dict({
    "decision": fields.String(required=True, validate=validate.OneOf(domain.REVIEW_DECISIONS)),
    "by": fields.String(required=True),
    "author": fields.String(required=True, allow_none=True),
    "note": fields.String(required=True, allow_none=True),
    "before": fields.String(required=True, allow_none=True),
}, name="ReviewStep")
EVENTS.declare("customer.reviewed", "A review step (双人校验 / 三级审核): verified, approved or "
               "rejected; a rejection goes back to the change's author with the note.",
               customer=_customer(), review=fields.Nested(ReviewStepSchema, required=True),
               changes=fields.List(fields.Nested(FieldChangeSchema), required=True))
ChurnRiskSchema = Schema.from_dict({
    "value_tier": fields.String(required=True, validate=validate.OneOf(domain.CHURN_TIERS)),
    "deal_amount": fields.Float(required=True),
    "last_activity_at": fields.AwareDateTime(required=True),
    "owner": fields.String(required=True),
    "quiet_days": fields.Integer(required=True),
    "warning_days": fields.Integer(required=True),
}, name="ChurnRisk")
EVENTS.declare("customer.churn_risk", "A high- or mid-value customer has had no activity for "
               "CHURN_WARNING_DAYS (高价值客户流失预警): once per quiet spell; a new activity "
               "ends the spell.", customer=_customer(),
               risk=fields.Nested(ChurnRiskSchema, required=True))
EVENTS.declare("followup.logged", "A follow-up was logged.",
               followup=fields.Nested(FollowupSchema, required=True), customer=_customer())
EVENTS.declare("customer.attachment_added",
               "A file was attached to a customer or one of its follow-ups (the bytes are in "
               "the attachment store under sha256, never in the event).",
               attachment=fields.Nested(CustomerAttachmentSchema, required=True))
EVENTS.declare("customer.attachment_removed", "An attachment of a customer was removed.",
               attachment=fields.Nested(CustomerAttachmentSchema, required=True),
               by=fields.String(required=True))

EVENTS.command("customer.upsert",
               "Create or update a customer (matched by normalised name or phone).",
               CustomerInputSchema)
