"""Marshmallow schemas of the reporting service: the parts of the consumed events it reads
(docs/events.md), the report queries, and the summary it answers."""
from datetime import date

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.common.schemas import StrictSchema, load_or_422, schema_of
from services.reporting import domain, periods, trends

# The export formats and their content types (the gateway reads these without loading the
# Excel and PDF libraries).
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
EXPORT_FORMATS = tuple(CONTENT_TYPES)
LANGUAGES = ("en", "zh")


# --- consumed events: only the fields the read model uses (its figures and the exports'
# detail rows, :mod:`services.reporting.details`); the rest is ignored ------------------------

class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class CustomerSnapshotSchema(_Lenient):
    id = fields.String(required=True)
    type = fields.String(required=True)
    grade = fields.String(required=True)
    industry = fields.String(required=True)
    source = fields.String(allow_none=True, load_default=None)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(allow_none=True, load_default=None)
    review = fields.String(allow_none=True, load_default=None)
    owner = fields.String(allow_none=True, load_default=None)
    deal_amount = fields.Decimal(allow_none=True, load_default=None)
    signed_date = fields.Date(allow_none=True, load_default=None)
    last_activity_at = fields.AwareDateTime(allow_none=True, load_default=None)
    name = fields.String(allow_none=True, load_default=None)
    deal_product = fields.String(allow_none=True, load_default=None)


class TicketSnapshotSchema(_Lenient):
    id = fields.String(required=True)
    customer_id = fields.String(required=True)
    state = fields.String(required=True)
    service_type = fields.String(required=True)
    category = fields.String(required=True)
    priority = fields.String(required=True)
    created_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(allow_none=True, load_default=None)
    status_label = fields.String(allow_none=True, load_default=None)
    channel = fields.String(allow_none=True, load_default=None)
    department = fields.String(allow_none=True, load_default=None)
    late_entry = fields.Boolean(load_default=False)
    title = fields.String(allow_none=True, load_default=None)
    owner = fields.String(allow_none=True, load_default=None)


class FollowupSnapshotSchema(_Lenient):
    id = fields.Integer(required=True)
    customer_id = fields.String(required=True)
    at = fields.AwareDateTime(required=True)
    outcome = fields.String(required=True)
    owner = fields.String(allow_none=True, load_default=None)
    channel = fields.String(allow_none=True, load_default=None)
    subject = fields.String(allow_none=True, load_default=None)
    feedback = fields.String(allow_none=True, load_default=None)
    next_action = fields.String(allow_none=True, load_default=None)


class RatingSnapshotSchema(_Lenient):
    score = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    nps_score = fields.Integer(allow_none=True, load_default=None,
                               validate=validate.Range(min=0, max=10))
    at = fields.AwareDateTime(required=True)
    quality = fields.Integer(allow_none=True, load_default=None)
    speed = fields.Integer(allow_none=True, load_default=None)
    effectiveness = fields.Integer(allow_none=True, load_default=None)
    would_cooperate_again = fields.String(allow_none=True, load_default=None)
    comment = fields.String(allow_none=True, load_default=None)
    collected_via = fields.String(allow_none=True, load_default=None)
    by = fields.String(allow_none=True, load_default=None)


class TaskSnapshotSchema(_Lenient):
    id = fields.Raw(required=True)
    assignee = fields.String(allow_none=True, load_default=None)
    created_at = fields.AwareDateTime(allow_none=True, load_default=None)
    completed_at = fields.AwareDateTime(allow_none=True, load_default=None)
    due_at = fields.AwareDateTime(allow_none=True, load_default=None)


class TaskEventSchema(_Lenient):
    task = fields.Nested(TaskSnapshotSchema, required=True)


class FieldChangeSchema(_Lenient):
    field = fields.String(required=True)
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class CustomerEventSchema(_Lenient):
    customer = fields.Nested(CustomerSnapshotSchema, required=True)
    changes = fields.List(fields.Nested(FieldChangeSchema), load_default=list)


class FollowupEventSchema(_Lenient):
    followup = fields.Nested(FollowupSnapshotSchema, required=True)


class TicketEventSchema(_Lenient):
    ticket = fields.Nested(TicketSnapshotSchema, required=True)


class TicketRatedSchema(TicketEventSchema):
    rating = fields.Nested(RatingSnapshotSchema, required=True)


class SlaBreachedSchema(TicketEventSchema):
    clock = fields.String(required=True, validate=validate.OneOf(domain.CLOCKS))
    due_at = fields.AwareDateTime(required=True)


class SlaStoppedSchema(TicketEventSchema):
    clock = fields.String(required=True, validate=validate.OneOf(domain.CLOCKS))
    stopped_at = fields.AwareDateTime(required=True)
    elapsed_seconds = fields.Float(required=True, validate=validate.Range(min=0))
    met = fields.Boolean(required=True)


EVENT_SCHEMAS = {
    "customer.created": CustomerEventSchema,
    "customer.updated": CustomerEventSchema,
    "customer.deleted": CustomerEventSchema,
    "customer.reviewed": CustomerEventSchema,
    "followup.logged": FollowupEventSchema,
    "ticket.rated": TicketRatedSchema,
    "ticket.sla_breached": SlaBreachedSchema,
    "ticket.sla_stopped": SlaStoppedSchema,
    **{event_type: TaskEventSchema for event_type in domain.TASK_EVENTS},
}


def is_consumed(event_type: str) -> bool:
    """Every ticket event carries the ticket, so each one refreshes its current state."""
    return event_type in EVENT_SCHEMAS or event_type.startswith("ticket.")


def load_event(event_type: str, data: dict) -> dict:
    """The event's data with its times parsed; 422 naming the fields when malformed."""
    return load_or_422(schema_of(EVENT_SCHEMAS.get(event_type, TicketEventSchema)), data)


# --- queries -------------------------------------------------------------------------------

# Report ranges are calendar days of the years a business has records for.
REPORT_DAYS = validate.Range(min=date(1900, 1, 1), max=date(2999, 12, 31),
                             error="Must be a day from 1900-01-01 to 2999-12-31.")


class SummaryQuerySchema(StrictSchema):
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "'from' must not be after 'to'.",
    )
    start = fields.Date(data_key="from", validate=REPORT_DAYS)
    end = fields.Date(data_key="to", validate=REPORT_DAYS)
    approved_only = fields.Boolean(load_default=False, metadata={
        "description": "count only approved customers (review) in the customer figures"})
    range = fields.String(validate=validate.OneOf(periods.RANGES), metadata={
        "description": "30d: the last 30 days; quarter: this quarter so far; year: this year "
                       "so far (today included; not together with from/to)"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if "start" in data and "end" in data and data["start"] > data["end"]:
            raise ValidationError("'from' must not be after 'to'.", "from")
        if "range" in data and ("start" in data or "end" in data):
            raise ValidationError("Give either 'range' or 'from'/'to', not both.", "range")


class TrendQuerySchema(SummaryQuerySchema):
    metric = fields.String(required=True, validate=validate.OneOf(tuple(trends.METRICS)))
    interval = fields.String(load_default=periods.DAY, validate=validate.OneOf(periods.INTERVALS))


class ExportQuerySchema(SummaryQuerySchema):
    format = fields.String(required=True, validate=validate.OneOf(EXPORT_FORMATS))
    lang = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))


# The export's detail tables (services.reporting.exports.details.DETAIL_TABLES).
DETAIL_TABLES = ("detail_converted", "detail_tickets", "detail_ratings", "detail_followups")


class ExportRowsQuerySchema(SummaryQuerySchema):
    """One page of a detail table, after the keyset position of the previous page's last row."""
    table = fields.String(required=True, validate=validate.OneOf(DETAIL_TABLES))
    after = fields.List(fields.Raw(), allow_none=True, load_default=None,
                        validate=validate.Length(equal=2))
    limit = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=5000))


# --- the summary ---------------------------------------------------------------------------

def counts():
    return fields.Dict(keys=fields.String(), values=fields.Integer())


class RangeSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()


class CustomerFiguresSchema(Schema):
    total = fields.Integer()
    new = fields.Integer(metadata={"description": "customers created in the range"})
    by_type = counts()
    by_grade = counts()
    by_industry = counts()
    by_source = counts()
    by_status = counts()
    by_value_tier = counts()
    converted = fields.Integer(metadata={"description": "prospect/intent → deal in the range"})
    conversion_rate = fields.Float(allow_none=True)


class OwnerFollowupsSchema(Schema):
    count = fields.Integer()
    success_rate = fields.Float(allow_none=True)


class FollowupFiguresSchema(Schema):
    total = fields.Integer()
    by_outcome = counts()
    success_rate = fields.Float(allow_none=True)
    by_owner = fields.Dict(keys=fields.String(), values=fields.Nested(OwnerFollowupsSchema))


def amounts():
    return fields.Dict(keys=fields.String(), values=fields.Float())


class RevenueSchema(Schema):
    total = fields.Float(metadata={"description": "deal_amount of the deals signed in the range"})
    deals = fields.Integer()
    by_customer_type = amounts()
    by_industry = amounts()
    by_owner = amounts()
    by_month = amounts()


class CategoryPairSchema(Schema):
    category = fields.String()
    service_type = fields.String()
    count = fields.Integer()


class CooperateAgainSchema(Schema):
    answered = fields.Integer()
    yes = fields.Float(allow_none=True)
    maybe = fields.Float(allow_none=True)
    no = fields.Float(allow_none=True)


class FeedbackFiguresSchema(Schema):
    by_channel = counts()
    by_department = counts()
    late_entries = fields.Integer()
    quality = fields.Float(allow_none=True)
    speed = fields.Float(allow_none=True)
    effectiveness = fields.Float(allow_none=True)
    would_cooperate_again = fields.Nested(CooperateAgainSchema)
    top_categories = fields.List(fields.Nested(CategoryPairSchema))


class AssigneeTasksSchema(Schema):
    created = fields.Integer()
    done = fields.Integer()
    overdue = fields.Integer()


class TaskFiguresSchema(AssigneeTasksSchema):
    by_assignee = fields.Dict(keys=fields.String(), values=fields.Nested(AssigneeTasksSchema))


class TicketFiguresSchema(Schema):
    created = fields.Integer()
    by_state = counts()
    by_service_type = counts()
    by_category = counts()
    by_priority = counts()
    by_status_label = counts()
    by_channel = counts()
    by_department = counts()
    late_entries = fields.Integer(metadata={
        "description": "tickets created in the range more than 24 h after the feedback came in"})


class RatingFiguresSchema(Schema):
    count = fields.Integer()
    average = fields.Float(allow_none=True)
    csat = fields.Float(allow_none=True)
    nps = fields.Float(allow_none=True)


class SatisfactionSchema(RatingFiguresSchema):
    by_service_type = fields.Dict(keys=fields.String(), values=fields.Nested(RatingFiguresSchema))
    by_customer_type = fields.Dict(keys=fields.String(), values=fields.Nested(RatingFiguresSchema))


class ClockFiguresSchema(Schema):
    met = fields.Integer()
    breached = fields.Integer()
    compliance = fields.Float(allow_none=True)


class SlaFiguresSchema(Schema):
    first_response = fields.Nested(ClockFiguresSchema)
    resolution = fields.Nested(ClockFiguresSchema)
    update = fields.Nested(ClockFiguresSchema)


class QuantilesSchema(Schema):
    median = fields.Integer(allow_none=True)
    p90 = fields.Integer(allow_none=True)


class TimesSchema(Schema):
    first_response_seconds = fields.Nested(QuantilesSchema)
    resolution_seconds = fields.Nested(QuantilesSchema)


class BacklogSchema(Schema):
    open = fields.Integer()
    ageing = counts()


class SummarySchema(Schema):
    range = fields.Nested(RangeSchema)
    customers = fields.Nested(CustomerFiguresSchema)
    revenue = fields.Nested(RevenueSchema)
    followups = fields.Nested(FollowupFiguresSchema)
    tickets = fields.Nested(TicketFiguresSchema)
    feedback = fields.Nested(FeedbackFiguresSchema)
    satisfaction = fields.Nested(SatisfactionSchema)
    sla = fields.Nested(SlaFiguresSchema)
    times = fields.Nested(TimesSchema)
    tasks = fields.Nested(TaskFiguresSchema)
    backlog = fields.Nested(BacklogSchema)


class TrendPointSchema(Schema):
    period = fields.String(metadata={"description": "first day of the day, week (Monday) or month"})
    value = fields.Float(allow_none=True)


class TrendSchema(Schema):
    metric = fields.String()
    interval = fields.String()
    points = fields.List(fields.Nested(TrendPointSchema))


class MonthlyReportSchema(Schema):
    """A built monthly feedback report (客户反馈分析报告), without its file."""
    month = fields.String(metadata={"description": "YYYY-MM"})
    complete = fields.Boolean(metadata={
        "description": "false: built while the month was in progress"})
    built_at = fields.String()
    built_by = fields.String()
    filename = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
