"""Marshmallow schemas of the ticket service: input and output per resource, shared by RPC
validation, the gateway and the OpenAPI document."""
from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates

from services.common.attachments import AttachmentSchema
from services.common.schemas import Moment, PageSchema, StrictSchema
from services.ticket import domain, sla

SECONDS = validate.Range(min=1, max=10 * 365 * 86400)
SCORE = validate.Range(min=1, max=5)
PHONE_PATTERN = r"^\+?[0-9][0-9 ()\-]{4,24}$"
# The survey's overall answer (非常满意…非常不满意) and the 1–5 score it is stored as.
OVERALL_SCORES = {"very_satisfied": 5, "satisfied": 4, "neutral": 3, "dissatisfied": 2,
                  "very_dissatisfied": 1}
COOPERATE_AGAIN = ("yes", "maybe", "no")
COLLECTED_VIA = ("survey", "phone", "email", "meeting", "visit", "other")


class FeedbackFormSchema(StrictSchema):
    """The feedback form's fields (客户反馈信息记录表), editable after creation too."""

    channel = fields.String(allow_none=True, validate=validate.OneOf(domain.CHANNELS))
    contact_name = fields.String(allow_none=True, validate=validate.Length(max=100))
    contact_title = fields.String(allow_none=True, validate=validate.Length(max=100))
    contact_phone = fields.String(allow_none=True, validate=validate.Regexp(
        PHONE_PATTERN, error="Not a phone number."))
    contact_email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    order_ref = fields.String(allow_none=True, validate=validate.Length(max=100))
    department = fields.String(allow_none=True, validate=validate.Length(min=1, max=100))
    planned_completion_date = fields.Date(allow_none=True, validate=validate.Range(
        min=date(1900, 1, 1), max=date(2999, 12, 31)))
    complex = fields.Boolean()
    notify_customer = fields.Boolean()


class TicketInputSchema(FeedbackFormSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "customer_id names an existing customer.",
        "received_at lies within the last 90 days and not in the future.",
        "department names one of GET /departments.",
    )
    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    service_type = fields.String(required=True, validate=validate.OneOf(domain.SERVICE_TYPES))
    category = fields.String(required=True, validate=validate.OneOf(domain.CATEGORIES))
    priority = fields.String(load_default="medium", validate=validate.OneOf(domain.PRIORITIES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))
    owner = fields.String(validate=validate.Length(min=1, max=80))
    expected_resolution_at = Moment(allow_none=True)
    received_at = Moment()


class TicketUpdateSchema(FeedbackFormSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "department names one of GET /departments.",
    )
    owner = fields.String(validate=validate.Length(min=1, max=80))
    priority = fields.String(validate=validate.OneOf(domain.PRIORITIES))
    title = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))


class TransitionInputSchema(StrictSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "'done' needs a solution and a resolution; 'closed' needs a rating or a close_reason.",
    )
    to = fields.String(required=True, validate=validate.OneOf(domain.STATES))
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))
    solution = fields.String(allow_none=True, validate=validate.Length(max=10000))
    resolution = fields.String(allow_none=True, validate=validate.OneOf(domain.RESOLUTIONS))
    close_reason = fields.String(allow_none=True, validate=validate.OneOf(domain.CLOSE_REASONS))


class CommentInputSchema(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    public = fields.Boolean(load_default=True)


class HoldInputSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class SurveyAnswersSchema(StrictSchema):
    """The questions both ways of rating answer, apart from the overall score."""

    quality = fields.Integer(allow_none=True, strict=True, validate=SCORE)
    speed = fields.Integer(allow_none=True, strict=True, validate=SCORE)
    effectiveness = fields.Integer(allow_none=True, strict=True, validate=SCORE)
    nps_score = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=10))
    would_cooperate_again = fields.String(allow_none=True,
                                          validate=validate.OneOf(COOPERATE_AGAIN))
    comment = fields.String(allow_none=True, validate=validate.Length(max=5000))


class RatingInputSchema(SurveyAnswersSchema):
    """A rating an agent collected from the customer (by phone, in a meeting...)."""

    score = fields.Integer(required=True, strict=True, validate=SCORE)
    collected_via = fields.String(load_default="phone", validate=validate.OneOf(
        [via for via in COLLECTED_VIA if via != "survey"]))


class SurveyInputSchema(SurveyAnswersSchema):
    """What the customer sends from the survey page (no login)."""

    overall = fields.String(required=True, validate=validate.OneOf(tuple(OVERALL_SCORES)))


class RatingSchema(Schema):
    score = fields.Integer()
    quality = fields.Integer(allow_none=True)
    speed = fields.Integer(allow_none=True)
    effectiveness = fields.Integer(allow_none=True)
    nps_score = fields.Integer(allow_none=True)
    would_cooperate_again = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    collected_via = fields.String()
    by = fields.String()
    at = fields.AwareDateTime()


class SurveyQuestionSchema(Schema):
    name = fields.String()
    kind = fields.String()
    required = fields.Boolean()
    choices = fields.List(fields.Raw())
    text = fields.String()


class SurveySchema(Schema):
    """What ``GET /surveys/<token>`` shows the customer."""

    ticket_id = fields.String()
    title = fields.String()
    language = fields.String()
    expires_at = fields.AwareDateTime()
    questions = fields.List(fields.Nested(SurveyQuestionSchema))


class CustomerNoticeSchema(Schema):
    """An email to the customer as ``ticket.customer_notified`` carries it: ``params`` fill
    the text of ``kind`` (acknowledgement, delay, outcome) in ``language``."""

    kind = fields.String()
    to = fields.String()
    language = fields.String()
    params = fields.Dict()


class DepartmentsSchema(StrictSchema):
    """The departments a ticket may name (责任部门), in the order shown."""

    departments = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                              required=True, validate=validate.Length(max=200),
                              metadata={"uniqueItems": True})

    @validates("departments")
    def _distinct(self, value, **_):
        if len(set(value)) != len(value):
            raise ValidationError("Name each department once.")


class CommentSchema(Schema):
    id = fields.Integer()
    body = fields.String()
    public = fields.Boolean()
    by = fields.String()
    at = fields.AwareDateTime()


class ClockSchema(Schema):
    due_at = fields.AwareDateTime()
    remaining_seconds = fields.Float()
    status = fields.String(validate=validate.OneOf(sla.STATUSES))
    target_seconds = fields.Integer()
    elapsed_seconds = fields.Float()
    started_at = fields.AwareDateTime()
    stopped_at = fields.AwareDateTime(allow_none=True)
    cycle = fields.Integer()


class SlaBlockSchema(Schema):
    first_response = fields.Nested(ClockSchema)
    resolution = fields.Nested(ClockSchema)
    update = fields.Nested(ClockSchema)


class TicketSchema(Schema):
    id = fields.String()
    version = fields.Integer(metadata={"description": "Bumped by every change; the ETag"})
    customer_id = fields.String()
    service_type = fields.String()
    category = fields.String()
    priority = fields.String()
    title = fields.String()
    description = fields.String(allow_none=True)
    owner = fields.String()
    state = fields.String(validate=validate.OneOf(domain.STATES))
    resolution = fields.String(allow_none=True)
    solution = fields.String(allow_none=True)
    expected_resolution_at = fields.AwareDateTime(allow_none=True)
    status_label = fields.String(validate=validate.OneOf(domain.STATUS_LABELS))
    channel = fields.String(allow_none=True)
    contact_name = fields.String(allow_none=True)
    contact_title = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    contact_email = fields.String(allow_none=True)
    received_at = fields.AwareDateTime()
    late_entry = fields.Boolean()
    order_ref = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    planned_completion_date = fields.Date(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    complex = fields.Boolean()
    close_reason = fields.String(allow_none=True)
    notify_customer = fields.Boolean()
    language = fields.String()
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    escalated = fields.Boolean()
    on_hold = fields.Boolean()
    rating = fields.Nested(RatingSchema, allow_none=True)
    sla = fields.Nested(SlaBlockSchema)
    # Moved to the archive (closed and untouched for ARCHIVE_AFTER_MONTHS): read-only.
    archived = fields.Boolean()


class TicketFilterSchema(PageSchema):
    state = fields.String(validate=validate.OneOf(domain.STATES))
    customer_id = fields.String()
    owner = fields.String()
    priority = fields.String(validate=validate.OneOf(domain.PRIORITIES))
    category = fields.String(validate=validate.OneOf(domain.CATEGORIES))
    status_label = fields.String(validate=validate.OneOf(domain.STATUS_LABELS))
    channel = fields.String(validate=validate.OneOf(domain.CHANNELS))
    department = fields.String()
    late_entry = fields.Boolean()
    breached = fields.Boolean()
    # Archived tickets are listed only when asked for (together with the working ones).
    archived = fields.Boolean(load_default=False)


class TicketHistoryEntrySchema(Schema):
    """One line of a ticket's history: ``kind`` is transition, comment, hold, resume, rating
    or customer_notice."""

    kind = fields.String()
    at = fields.AwareDateTime()
    by = fields.String()
    details = fields.Dict()


class FirstResponseTargetsSchema(StrictSchema):
    """Per category, else ``default``."""

    default = fields.Integer(required=True, strict=True, validate=SECONDS)
    inquiry = fields.Integer(strict=True, validate=SECONDS)
    complaint = fields.Integer(strict=True, validate=SECONDS)
    suggestion = fields.Integer(strict=True, validate=SECONDS)
    need = fields.Integer(strict=True, validate=SECONDS)
    cooperation = fields.Integer(strict=True, validate=SECONDS)
    other = fields.Integer(strict=True, validate=SECONDS)


class ResolutionTargetsSchema(StrictSchema):
    """``complex`` for a complex ticket, else the priority's target if set, else ``default``."""

    default = fields.Integer(required=True, strict=True, validate=SECONDS)
    complex = fields.Integer(strict=True, validate=SECONDS)
    high = fields.Integer(strict=True, validate=SECONDS)
    medium = fields.Integer(strict=True, validate=SECONDS)
    low = fields.Integer(strict=True, validate=SECONDS)


def _clock_time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"'{value}' is not a time of day like '09:00'.") from None


class CalendarSchema(StrictSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "timezone is an IANA time zone; hours names at least one weekday, each opening before "
        "it closes (HH:MM).",
    )
    timezone = fields.String(required=True)
    hours = fields.Dict(keys=fields.String(validate=validate.OneOf(sla.WEEKDAYS)),
                        values=fields.List(fields.String(), validate=validate.Length(equal=2)),
                        required=True)
    holidays = fields.List(fields.Date(), load_default=list)

    @validates("timezone")
    def _known_zone(self, value, **_):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"Unknown time zone '{value}'.") from None

    @validates("hours")
    def _opening_hours(self, value, **_):
        if not value:
            raise ValidationError("Name at least one working day.")
        for day, (opens, closes) in value.items():
            if _clock_time(opens) >= _clock_time(closes):
                raise ValidationError(f"On {day} the opening time must come before the closing time.")


class SlaPolicySchema(StrictSchema):
    """The policy document of ``GET/PUT /sla/policy`` (targets in seconds)."""

    first_response = fields.Nested(FirstResponseTargetsSchema, required=True)
    resolution = fields.Nested(ResolutionTargetsSchema, required=True)
    update = fields.Integer(required=True, strict=True, validate=SECONDS)
    calendar = fields.Nested(CalendarSchema, allow_none=True)


class TicketAttachmentSchema(AttachmentSchema):
    ticket_id = fields.String()
