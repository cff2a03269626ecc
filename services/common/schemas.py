"""Marshmallow helpers shared by every edge (HTTP, RPC, events)."""
from functools import cache

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from services.common.errors import BadRequest, ValidationFailed


class StrictSchema(Schema):
    """Input schemas refuse unknown fields, so a typo is an error and not a silent no-op."""

    class Meta:
        unknown = RAISE


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


MAX_PAGE = 1_000_000  # keeps page * per_page inside a database integer


class PageSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def page_of(items: list, total: int, page: int, per_page: int) -> dict:
    return {"items": items, "total": total, "page": page, "per_page": per_page}
