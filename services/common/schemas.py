"""Marshmallow helpers shared by every edge (HTTP, RPC, events)."""
from datetime import timezone
from functools import cache

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from services.common.errors import BadRequest, ValidationFailed

FIRST_YEAR, LAST_YEAR = 1900, 2999


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class StrictSchema(Schema):
    """Input schemas refuse unknown fields, so a typo is an error and not a silent no-op,
    and refuse NUL characters, which no text column can store."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _refuse_nul(self, data, **kwargs):
        if isinstance(data, dict):
            bad = {str(key): ["Must not contain NUL characters."]
                   for key, value in data.items() if _has_nul(key) or _has_nul(value)}
            if bad:
                raise ValidationError(bad)
        return data


class Moment(fields.AwareDateTime):
    """An input date-time with its offset, from 1900 to 2999 in UTC (what the databases and
    the clocks compute with; beyond, adding an offset overflows)."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            in_utc = moment.astimezone(timezone.utc)
        except OverflowError:
            in_utc = None
        if in_utc is None or not FIRST_YEAR <= in_utc.year <= LAST_YEAR:
            raise ValidationError(f"Must be from {FIRST_YEAR} to {LAST_YEAR}.")
        return moment


@cache
def schema_of(schema_class: type[Schema], many: bool = False) -> Schema:
    """One shared instance per schema class: building a schema deep-copies all its fields
    (about 0.3 ms each time), while loading and dumping leave an instance unchanged."""
    return schema_class(many=many)


def load_or_422(schema: Schema, data, **kwargs):
    """Load ``data`` with ``schema``; a bad field becomes a 422 naming each field."""
    if not isinstance(data, dict):
        raise BadRequest("Expected a JSON object.", {"received": type(data).__name__})
    try:
        return schema.load(data, **kwargs)
    except ValidationError as exc:
        raise ValidationFailed("Some fields are invalid.", {"fields": exc.messages}) from None


class FieldChangeSchema(Schema):
    """One field of a change log entry (customers, tickets, tasks, users)."""

    field = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


MAX_PAGE = 1_000_000  # keeps page * per_page inside a database integer


class PageSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def page_of(items: list, total: int, page: int, per_page: int) -> dict:
    return {"items": items, "total": total, "page": page, "per_page": per_page}
