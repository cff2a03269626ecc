"""Marshmallow schemas of the notification service: HTTP/RPC input and output, and the
parts of incoming events its rules read."""
from marshmallow import EXCLUDE, Schema, fields, validate

from services.common.schemas import PageSchema, StrictSchema
from services.notification.domain import CUSTOMER_KINDS, EVENT_TYPES
from services.notification.templates import LANGUAGES

CHANNELS = ("email", "webhook")
STATUSES = ("pending", "sent", "failed")


class LanguageSchema(StrictSchema):
    lang = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))


class InboxFilterSchema(PageSchema, LanguageSchema):
    unread = fields.Boolean()


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    event_type = fields.String()
    event_id = fields.String()
    title = fields.String()
    body = fields.String()
    params = fields.Dict()
    read = fields.Boolean()
    created_at = fields.AwareDateTime()
    read_at = fields.AwareDateTime(allow_none=True)


class WebhookInputSchema(StrictSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "url must reach a public address (private ones only with WEBHOOK_ALLOW_PRIVATE).",
    )
    url = fields.Url(required=True, require_tld=False, schemes={"http", "https"},
                     validate=validate.Length(max=500))
    event_types = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)),
                              required=True, validate=validate.Length(min=1))
    secret = fields.String(required=True, validate=validate.Length(min=16, max=200))


class WebhookSchema(Schema):
    """A subscription as shown: never its secret."""

    id = fields.Integer()
    url = fields.String()
    event_types = fields.List(fields.String())
    created_at = fields.AwareDateTime()
    created_by = fields.String()


class DeliveryFilterSchema(PageSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    channel = fields.String(validate=validate.OneOf(CHANNELS))


class DeliverySchema(Schema):
    id = fields.String()
    channel = fields.String()
    target = fields.String()
    webhook_id = fields.Integer(allow_none=True)
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime()
    last_error = fields.String(allow_none=True)
    last_attempt_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)


# What the rules read from incoming events; other fields are ignored (and webhooks still
# receive the envelope exactly as published).
class _EventPart(Schema):
    class Meta:
        unknown = EXCLUDE


class TicketPartSchema(_EventPart):
    id = fields.String(required=True)
    title = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    priority = fields.String(allow_none=True)


class CustomerPartSchema(_EventPart):
    id = fields.String(required=True)
    name = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)


class ChangePartSchema(_EventPart):
    field = fields.String(required=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class UserPartSchema(_EventPart):
    username = fields.String(required=True)
    display_name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    role = fields.String(required=True)
    team = fields.String(allow_none=True, load_default=None)
    active = fields.Boolean(load_default=True)


class TicketEventSchema(_EventPart):
    ticket = fields.Nested(TicketPartSchema, required=True)
    to = fields.String()


class SlaEventSchema(TicketEventSchema):
    clock = fields.String(required=True)
    due_at = fields.String(required=True)


class CustomerUpdatedSchema(_EventPart):
    customer = fields.Nested(CustomerPartSchema, required=True)
    changes = fields.List(fields.Nested(ChangePartSchema), load_default=list)
    contact_changed = fields.Boolean(load_default=False)


class ReviewPartSchema(_EventPart):
    decision = fields.String(required=True)
    by = fields.String(required=True)
    author = fields.String(allow_none=True, load_default=None)
    note = fields.String(allow_none=True, load_default=None)


class CustomerReviewedSchema(_EventPart):
    customer = fields.Nested(CustomerPartSchema, required=True)
    review = fields.Nested(ReviewPartSchema, required=True)


class ChurnRiskPartSchema(_EventPart):
    value_tier = fields.String(required=True)
    deal_amount = fields.Float(required=True)
    last_activity_at = fields.String(required=True)
    owner = fields.String(required=True)
    quiet_days = fields.Integer(required=True)


class ChurnRiskSchema(_EventPart):
    customer = fields.Nested(CustomerPartSchema, required=True)
    risk = fields.Nested(ChurnRiskPartSchema, required=True)


class TaskPartSchema(_EventPart):
    id = fields.Integer(required=True)
    title = fields.String(required=True)
    assignee = fields.String(required=True)
    due_at = fields.String(required=True)
    customer_id = fields.String(allow_none=True)
    ticket_id = fields.String(allow_none=True)
    priority = fields.String()


class TaskEventSchema(_EventPart):
    task = fields.Nested(TaskPartSchema, required=True)
    notify = fields.List(fields.String(), load_default=list)


class UserEventSchema(_EventPart):
    user = fields.Nested(UserPartSchema, required=True)


class LoginAlertSchema(UserEventSchema):
    at = fields.String(required=True)
    address = fields.String(required=True)
    user_agent = fields.String(allow_none=True)


class RatingPartSchema(_EventPart):
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(allow_none=True)


class DissatisfiedSchema(TicketEventSchema):
    rating = fields.Nested(RatingPartSchema, required=True)


class CustomerNoticePartSchema(_EventPart):
    kind = fields.String(required=True, validate=validate.OneOf(tuple(CUSTOMER_KINDS)))
    to = fields.Email(required=True)
    language = fields.String(required=True, validate=validate.OneOf(LANGUAGES))
    params = fields.Dict(required=True)


class CustomerNotifiedSchema(TicketEventSchema):
    notice = fields.Nested(CustomerNoticePartSchema, required=True)


class MonthlyReportBuiltSchema(_EventPart):
    """``report.monthly_built``: the report's file is fetched from the reporting service."""
    month = fields.String(required=True, validate=validate.Regexp(r"^\d{4}-\d{2}$"))
    filename = fields.String(required=True, validate=validate.Length(min=1, max=200))
    size = fields.Integer(required=True, validate=validate.Range(min=1))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"^[0-9a-f]{64}$"))


EVENT_DATA_SCHEMAS = {
    "ticket.created": TicketEventSchema,
    "ticket.dissatisfied": DissatisfiedSchema,
    "ticket.customer_notified": CustomerNotifiedSchema,
    "ticket.assigned": TicketEventSchema,
    "ticket.transitioned": TicketEventSchema,
    "ticket.sla_warning": SlaEventSchema,
    "ticket.sla_breached": SlaEventSchema,
    "customer.updated": CustomerUpdatedSchema,
    "customer.reviewed": CustomerReviewedSchema,
    "customer.churn_risk": ChurnRiskSchema,
    "task.created": TaskEventSchema,
    "task.due_soon": TaskEventSchema,
    "task.overdue": TaskEventSchema,
    "user.created": UserEventSchema,
    "user.updated": UserEventSchema,
    "user.login_alert": LoginAlertSchema,
    "report.monthly_built": MonthlyReportBuiltSchema,
}
