"""Marshmallow schemas of the workflow service: tasks, rules, dry runs and the event parts
it reads, shared by RPC validation, the gateway and the OpenAPI and AsyncAPI documents."""
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import (
    EXCLUDE, Schema, ValidationError, fields, validate, validates, validates_schema,
)

from services.common.schemas import PageSchema, StrictSchema
from services.workflow import domain, schedules

TITLE = validate.Length(min=1, max=200)
SCALAR = fields.Raw(allow_none=True)


def _check_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Unknown time zone {value}.") from None


# --- tasks ---------------------------------------------------------------------------------

class TaskInputSchema(StrictSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "assignee is an active user; due_at is not in the past; customer_id and ticket_id name "
        "existing ones.",
    )
    title = fields.String(required=True, validate=TITLE)
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))
    customer_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=40))
    ticket_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=48))
    assignee = fields.String(validate=validate.Length(min=1, max=80))
    priority = fields.String(load_default="medium", validate=validate.OneOf(domain.PRIORITIES))
    due_at = fields.AwareDateTime(required=True)


class TaskUpdateSchema(StrictSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "assignee is an active user; due_at is not in the past.",
    )
    title = fields.String(validate=TITLE)
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))
    due_at = fields.AwareDateTime()
    priority = fields.String(validate=validate.OneOf(domain.PRIORITIES))
    assignee = fields.String(validate=validate.Length(min=1, max=80))


class CompleteInputSchema(StrictSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class CancelInputSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class TaskFilterSchema(PageSchema):
    assignee = fields.String()
    state = fields.String(validate=validate.OneOf(domain.STATES))
    overdue = fields.Boolean()
    customer_id = fields.String()
    ticket_id = fields.String()
    priority = fields.String(validate=validate.OneOf(domain.PRIORITIES))
    due_before = fields.AwareDateTime()
    due_after = fields.AwareDateTime()
    source = fields.String(validate=validate.Length(min=1, max=40))
    mine = fields.Boolean()


class TaskSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    description = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    ticket_id = fields.String(allow_none=True)
    assignee = fields.String()
    priority = fields.String()
    due_at = fields.AwareDateTime()
    state = fields.String()
    overdue = fields.Boolean()
    source = fields.String(metadata={"description": "manual, or rule:<id>"})
    reason = fields.Dict(allow_none=True, metadata={
        "description": "Why a rule made this task, frozen when it was made: rule id and "
                       "version, trigger event or occurrence, the values its conditions saw "
                       "and the due-date formula."})
    created_by = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    completed_at = fields.AwareDateTime(allow_none=True)
    completion_note = fields.String(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    version = fields.Integer()


class SummaryRowSchema(Schema):
    assignee = fields.String()
    open = fields.Integer()
    due_today = fields.Integer()
    overdue = fields.Integer()
    done_last_7_days = fields.Integer()


# --- rules ---------------------------------------------------------------------------------

class TriggerSchema(StrictSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "A trigger has exactly one of event, every_days, schedule; only a schedule takes 'at'; "
        "event is one the rules know.",
    )
    event = fields.String(validate=validate.Length(min=1, max=80))
    every_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=3660))
    schedule = fields.String(validate=validate.OneOf(schedules.CALENDARS))
    at = fields.Time(metadata={"description": "Local time of a calendar occurrence (09:00)."})

    @validates_schema
    def one_kind(self, data, **_):
        kinds = [name for name in ("event", "every_days", "schedule") if name in data]
        if len(kinds) != 1:
            raise ValidationError("Give exactly one of event, every_days, schedule.", "trigger")
        if "at" in data and "schedule" not in data:
            raise ValidationError("Only a calendar schedule takes 'at'.", "at")


class RuleTaskSchema(StrictSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "A task has exactly one of due_in_hours, due_in_days; ticket_owner needs a ticket "
        "event.",
    )
    title = fields.String(required=True, validate=TITLE)
    description = fields.String(allow_none=True, validate=validate.Length(max=10000))
    due_in_hours = fields.Integer(strict=True, validate=validate.Range(min=0, max=24 * 3660))
    due_in_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=3660))
    priority = fields.String(load_default="medium", validate=validate.OneOf(domain.PRIORITIES))
    assignee = fields.String(required=True, validate=validate.Length(min=1, max=80), metadata={
        "description": "owner (the customer's), ticket_owner, or a username"})

    @validates_schema
    def one_offset(self, data, **_):
        if ("due_in_hours" in data) == ("due_in_days" in data):
            raise ValidationError("Give exactly one of due_in_hours, due_in_days.", "due_in_hours")


class RuleInputSchema(StrictSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "where names facts of the trigger's event; completes_on names events the rules know; "
        "time_zone is an IANA time zone.",
    )
    name = fields.String(required=True, validate=TITLE)
    enabled = fields.Boolean(load_default=True)
    trigger = fields.Nested(TriggerSchema, required=True)
    where = fields.Dict(keys=fields.String(), values=fields.List(SCALAR, validate=validate.Length(
        min=1, max=100)), load_default=dict)
    task = fields.Nested(RuleTaskSchema, required=True)
    completes_on = fields.List(fields.String(), load_default=list)
    time_zone = fields.String(load_default=None, allow_none=True)
    catch_up = fields.String(load_default="latest", validate=validate.OneOf(
        schedules.CATCH_UP_POLICIES))

    @validates("time_zone")
    def known_zone(self, value, **_):
        if value is not None:
            _check_zone(value)


class RuleSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    enabled = fields.Boolean()
    trigger = fields.Dict()
    where = fields.Dict()
    task = fields.Dict()
    completes_on = fields.List(fields.String())
    time_zone = fields.String()
    catch_up = fields.String()
    version = fields.Integer()
    default_key = fields.String(allow_none=True, metadata={
        "description": "Set on the rules deskflow ships (editable like any other)."})
    updated_at = fields.AwareDateTime()
    updated_by = fields.String()


class DryRunInputSchema(StrictSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "rule is a rule as POST /workflow/rules takes it; 'to' is not before 'from'.",
    )
    rule = fields.Dict(required=True)
    from_ = fields.AwareDateTime(required=True, data_key="from")
    to = fields.AwareDateTime(required=True)

    @validates_schema
    def ordered(self, data, **_):
        if "from_" in data and "to" in data and data["to"] < data["from_"]:
            raise ValidationError("'to' is before 'from'.", "to")


class WouldMakeSchema(Schema):
    title = fields.String()
    assignee = fields.String(allow_none=True)
    customer_id = fields.String(allow_none=True)
    ticket_id = fields.String(allow_none=True)
    priority = fields.String()
    due_at = fields.AwareDateTime()
    state = fields.String()
    reason = fields.Dict()


class DryRunSchema(Schema):
    events_examined = fields.Integer()
    tasks = fields.List(fields.Nested(WouldMakeSchema))


# --- the parts of other services' events this service reads --------------------------------

class _Part(Schema):
    class Meta:
        unknown = EXCLUDE


class CustomerPartSchema(_Part):
    id = fields.String(required=True)


class TicketPartSchema(_Part):
    id = fields.String(required=True)


class UserPartSchema(_Part):
    username = fields.String(required=True)
    role = fields.String(required=True)


class CustomerEventSchema(_Part):
    customer = fields.Nested(CustomerPartSchema, required=True)


class TicketEventSchema(_Part):
    ticket = fields.Nested(TicketPartSchema, required=True)


class UserEventSchema(_Part):
    user = fields.Nested(UserPartSchema, required=True)


def event_data_schema(event_type: str) -> type[Schema]:
    if event_type.startswith("ticket."):
        return TicketEventSchema
    if event_type.startswith("user."):
        return UserEventSchema
    return CustomerEventSchema
