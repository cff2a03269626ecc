"""Marshmallow schemas of the ticket service: input and output per resource, shared by RPC
validation, the gateway and the OpenAPI document."""
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates

from services.common.schemas import Moment, PageSchema, StrictSchema
from services.ticket import domain, sla

SECONDS = validate.Range(min=1, max=10 * 365 * 86400)


class TicketInputSchema(StrictSchema):
    customer_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    service_type = fields.String(required=True, validate=validate.OneOf(domain.SERVICE_TYPES))
    category = fields.String(required=True, validate=validate.OneOf(domain.CATEGORIES))
    priority = fields.String(load_default="medium", validate=validate.OneOf(domain.PRIORITIES))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))
    owner = fields.String(validate=validate.Length(min=1, max=80))
    expected_resolution_at = Moment(allow_none=True)


class TicketUpdateSchema(StrictSchema):
    owner = fields.String(validate=validate.Length(min=1, max=80))
    priority = fields.String(validate=validate.OneOf(domain.PRIORITIES))
    title = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))


class TransitionInputSchema(StrictSchema):
    to = fields.String(required=True, validate=validate.OneOf(domain.STATES))
    note = fields.String(allow_none=True, validate=validate.Length(max=5000))
    solution = fields.String(allow_none=True, validate=validate.Length(max=10000))
    resolution = fields.String(allow_none=True, validate=validate.OneOf(domain.RESOLUTIONS))


class CommentInputSchema(StrictSchema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=10000))
    public = fields.Boolean(load_default=True)


class HoldInputSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RatingInputSchema(StrictSchema):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    nps_score = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=0, max=10))
    comment = fields.String(allow_none=True, validate=validate.Length(max=5000))


class RatingSchema(Schema):
    score = fields.Integer()
    nps_score = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    by = fields.String()
    at = fields.AwareDateTime()


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
    breached = fields.Boolean()
    # Archived tickets are listed only when asked for (together with the working ones).
    archived = fields.Boolean(load_default=False)


class HistoryEntrySchema(Schema):
    """One line of a ticket's history: ``kind`` is transition, comment, hold, resume or rating."""

    kind = fields.String()
    at = fields.AwareDateTime()
    by = fields.String()
    details = fields.Dict()


class FirstResponseTargetsSchema(StrictSchema):
    complaint = fields.Integer(required=True, strict=True, validate=SECONDS)
    default = fields.Integer(required=True, strict=True, validate=SECONDS)


class ResolutionTargetsSchema(StrictSchema):
    high = fields.Integer(required=True, strict=True, validate=SECONDS)
    medium = fields.Integer(required=True, strict=True, validate=SECONDS)
    low = fields.Integer(required=True, strict=True, validate=SECONDS)


def _clock_time(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"'{value}' is not a time of day like '09:00'.") from None


class CalendarSchema(StrictSchema):
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
