"""Marshmallow schemas of the customer service: one input and one output schema per
resource, shared by RPC validation, the gateway and the OpenAPI document."""
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common.attachments import AttachmentSchema
from services.common.schemas import FieldChangeSchema, Moment, PageSchema, StrictSchema
from services.customer import domain

PHONE_PATTERN = r"^\+?[0-9０-９][0-9０-９ ()\-]{4,24}$"
# What the columns hold: INTEGER, and NUMERIC(18, 2).
MAX_EMPLOYEES = 2**31 - 1
MAX_AMOUNT = Decimal("9999999999999999.99")


def text(longest: int):
    return fields.String(allow_none=True, validate=validate.Length(max=longest))


def amount():
    return fields.Decimal(allow_none=True, places=2,
                          validate=validate.Range(min=0, max=MAX_AMOUNT))


def phone_field():
    return fields.String(allow_none=True, validate=validate.Regexp(
        PHONE_PATTERN, error="Not a phone number."))


class CustomerInputSchema(StrictSchema):
    """A new customer: the fields the archive form requires (表1) are required here."""
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "A customer keeps a phone or an office_phone.",
        "type 'deal' needs deal_amount, deal_product and signed_date (also once stored).",
        "budget_min must not exceed budget_max; a given size_band must match employees.",
        "referred_by names an existing customer.",
    )

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    contact_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    phone = phone_field()
    office_phone = phone_field()
    email = fields.Email(allow_none=True, validate=validate.Length(max=200))
    language = fields.String(load_default="zh", validate=validate.OneOf(domain.LANGUAGES))
    address = fields.String(allow_none=True, validate=validate.Length(max=300))
    industry = fields.String(required=True, validate=validate.OneOf(domain.INDUSTRIES))
    type = fields.String(required=True, validate=validate.OneOf(domain.TYPES))
    grade = fields.String(load_default="C", validate=validate.OneOf(domain.GRADES))
    source = fields.String(required=True, validate=validate.OneOf(domain.SOURCES))
    employees = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=MAX_EMPLOYEES))
    annual_revenue = fields.Decimal(allow_none=True, places=2,
                                    validate=validate.Range(min=0, max=MAX_AMOUNT))
    first_contact_date = fields.Date(allow_none=True)
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                       load_default=list, validate=validate.Length(max=30))
    notes = fields.String(allow_none=True, validate=validate.Length(max=5000))
    owner = fields.String(validate=validate.Length(min=1, max=80))
    deal_amount = fields.Decimal(allow_none=True, places=2,
                                 validate=validate.Range(min=0, max=MAX_AMOUNT))
    deal_product = fields.String(allow_none=True, validate=validate.Length(max=200))
    signed_date = fields.Date(allow_none=True)
    # the profile (客户画像)
    sub_industry = fields.String(allow_none=True, validate=validate.Length(max=60))
    size_band = fields.String(allow_none=True, validate=validate.OneOf(domain.SIZE_BANDS))
    contact_title = text(100)
    legal_representative = text(100)
    business_area = text(300)
    needs = text(5000)
    pain_points = text(5000)
    decision_chain = text(5000)
    budget_min = amount()
    budget_max = amount()
    expected_start = fields.Date(allow_none=True)
    preferred_channel = fields.String(allow_none=True,
                                      validate=validate.OneOf(domain.PREFERRED_CHANNELS))
    preferences = text(2000)
    market_position = text(2000)
    referred_by = fields.String(allow_none=True, validate=validate.Length(min=1, max=40))
    need_tags = fields.List(fields.String(validate=validate.OneOf(domain.NEED_TAGS)),
                            load_default=list, validate=validate.Length(max=len(domain.NEED_TAGS)))

    @validates_schema
    def a_phone_is_given(self, data, partial=False, **_kwargs):
        if not partial and not (data.get("phone") or data.get("office_phone")):
            raise ValidationError(domain.PHONE_REQUIRED, "phone")


class CustomerUpdateSchema(CustomerInputSchema):
    """Every field optional; defaults do not apply to a partial update. A required field
    may be changed but not emptied."""

    language = fields.String(validate=validate.OneOf(domain.LANGUAGES))
    contact_name = fields.String(validate=validate.Length(min=1, max=100))
    type = fields.String(validate=validate.OneOf(domain.TYPES))
    source = fields.String(validate=validate.OneOf(domain.SOURCES))
    grade = fields.String(validate=validate.OneOf(domain.GRADES))
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=50)),
                       validate=validate.Length(max=30))
    need_tags = fields.List(fields.String(validate=validate.OneOf(domain.NEED_TAGS)),
                            validate=validate.Length(max=len(domain.NEED_TAGS)))


class CustomerSchema(Schema):
    id = fields.String()
    version = fields.Integer(metadata={"description": "Bumped by every change; the ETag"})
    name = fields.String()
    contact_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    office_phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    language = fields.String()
    address = fields.String(allow_none=True)
    industry = fields.String()
    type = fields.String()
    grade = fields.String()
    source = fields.String(allow_none=True)
    employees = fields.Integer(allow_none=True)
    annual_revenue = fields.Float(allow_none=True)
    first_contact_date = fields.Date(allow_none=True)
    tags = fields.List(fields.String())
    notes = fields.String(allow_none=True)
    owner = fields.String()
    deal_amount = fields.Float(allow_none=True)
    deal_product = fields.String(allow_none=True)
    signed_date = fields.Date(allow_none=True)
    sub_industry = fields.String(allow_none=True)
    size_band = fields.String(allow_none=True)
    contact_title = fields.String(allow_none=True)
    legal_representative = fields.String(allow_none=True)
    business_area = fields.String(allow_none=True)
    needs = fields.String(allow_none=True)
    pain_points = fields.String(allow_none=True)
    decision_chain = fields.String(allow_none=True)
    budget_min = fields.Float(allow_none=True)
    budget_max = fields.Float(allow_none=True)
    expected_start = fields.Date(allow_none=True)
    preferred_channel = fields.String(allow_none=True)
    preferences = fields.String(allow_none=True)
    market_position = fields.String(allow_none=True)
    referred_by = fields.String(allow_none=True)
    need_tags = fields.List(fields.String())
    review = fields.String(validate=validate.OneOf(domain.REVIEW_STATES), metadata={
        "description": "pending → verified (by a colleague) → approved (by a manager or "
                       "admin); rejected goes back to review_author"})
    review_author = fields.String(allow_none=True,
                                  metadata={"description": "who made the change under review"})
    review_note = fields.String(allow_none=True)
    verified_by = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    last_activity_at = fields.AwareDateTime()
    next_followup_due_at = fields.AwareDateTime(allow_none=True)
    status = fields.String(validate=validate.OneOf(domain.STATUSES))
    value_tier = fields.String(validate=validate.OneOf(domain.VALUE_TIERS))


class CustomerFilterSchema(PageSchema):
    type = fields.String(validate=validate.OneOf(domain.TYPES))
    grade = fields.String(validate=validate.OneOf(domain.GRADES))
    industry = fields.String(validate=validate.OneOf(domain.INDUSTRIES))
    status = fields.String(validate=validate.OneOf(domain.STATUSES))
    owner = fields.String()
    q = fields.String(validate=validate.Length(min=1, max=100))
    tag = fields.String(validate=validate.Length(min=1, max=50))
    need_tag = fields.String(validate=validate.OneOf(domain.NEED_TAGS))
    size_band = fields.String(validate=validate.OneOf(domain.SIZE_BANDS))
    sub_industry = fields.String(validate=validate.Length(min=1, max=60))
    review = fields.String(validate=validate.OneOf(domain.REVIEW_STATES))


class ReviewInputSchema(StrictSchema):
    """``POST /customers/<id>/review``: a step of the review; a rejection says why."""
    # Checked beyond the fields (OpenAPI x-rules; answered 422 naming the field).
    RULES = (
        "A rejection needs a note saying what to correct.",
    )

    decision = fields.String(required=True, validate=validate.OneOf(domain.REVIEW_DECISIONS))
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def a_rejection_says_why(self, data, **_kwargs):
        if data.get("decision") == "rejected" and not (data.get("note") or "").strip():
            raise ValidationError("Say what to correct.", "note")


class CustomerDeleteSchema(StrictSchema):
    """``DELETE /customers/<id>``: a soft delete, or with ``purge=true`` a deletion for good
    (only once the customer's last activity is older than ``RETENTION_YEARS``)."""

    purge = fields.Boolean(load_default=False)


class CustomerHistoryEntrySchema(Schema):
    at = fields.AwareDateTime()
    by = fields.String()
    action = fields.String()
    changes = fields.List(fields.Nested(FieldChangeSchema))


class FollowupInputSchema(StrictSchema):
    at = Moment(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(domain.CHANNELS))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = fields.String(allow_none=True, validate=validate.Length(max=5000))
    feedback = fields.String(allow_none=True, validate=validate.Length(max=5000))
    outcome = fields.String(required=True, validate=validate.OneOf(domain.OUTCOMES))
    next_action = fields.String(allow_none=True, validate=validate.Length(max=300))
    next_followup_at = Moment(allow_none=True)
    owner = fields.String(validate=validate.Length(min=1, max=80))


class FollowupSchema(Schema):
    id = fields.Integer()
    customer_id = fields.String()
    at = fields.AwareDateTime()
    channel = fields.String()
    subject = fields.String()
    content = fields.String(allow_none=True)
    feedback = fields.String(allow_none=True)
    outcome = fields.String()
    next_action = fields.String(allow_none=True)
    next_followup_at = fields.AwareDateTime(allow_none=True)
    owner = fields.String()
    created_at = fields.AwareDateTime()
    created_by = fields.String()


class FollowupQuerySchema(PageSchema):
    """``GET /followups``: follow-ups across customers, newest first, within what the caller
    may see (sales their own, a manager its team's, admins all)."""

    owner = fields.String(validate=validate.Length(min=1, max=80))
    team = fields.String(validate=validate.Length(min=1, max=80), metadata={
        "description": "the follow-ups of this team's members (an unknown team is 422)"})
    start = fields.Date(data_key="from", metadata={"description": "first day (UTC), inclusive"})
    end = fields.Date(data_key="to", metadata={"description": "last day (UTC), inclusive"})
    outcome = fields.String(validate=validate.OneOf(domain.OUTCOMES))
    channel = fields.String(validate=validate.OneOf(domain.CHANNELS))

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if "start" in data and "end" in data and data["start"] > data["end"]:
            raise ValidationError("'from' must not be after 'to'.", "from")


class ChurnRiskQuerySchema(PageSchema):
    owner = fields.String(validate=validate.Length(min=1, max=80))
    value_tier = fields.String(validate=validate.OneOf(domain.CHURN_TIERS))


class ChurnRiskSchema(Schema):
    """A high- or mid-value customer quiet for ``CHURN_WARNING_DAYS`` or more."""

    customer_id = fields.String()
    name = fields.String()
    owner = fields.String()
    value_tier = fields.String()
    deal_amount = fields.Float()
    last_activity_at = fields.AwareDateTime()
    quiet_days = fields.Integer()
    status = fields.String(validate=validate.OneOf(domain.STATUSES))


class FollowupPlanSchema(StrictSchema):
    A = fields.Integer(required=True, validate=validate.Range(min=1, max=365))
    B = fields.Integer(required=True, validate=validate.Range(min=1, max=365))
    C = fields.Integer(required=True, validate=validate.Range(min=1, max=365))


class CustomerAttachmentSchema(AttachmentSchema):
    customer_id = fields.String()
    followup_id = fields.Integer(allow_none=True,
                                 metadata={"description": "set when attached to a follow-up"})
