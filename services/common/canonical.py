"""A fast check, compiled once per marshmallow schema, that data is already what the schema
would load and dump it to.

Emitting an event dumps its data through the declared schema (load, to validate, then dump):
about a millisecond for a ticket, although the data was usually just dumped through the
same schemas by the code that emits it. :func:`canonical_check` compiles a schema into a
function that answers, without marshmallow's per-field machinery, whether
``schema.dump(schema.load(data)) == data`` is certain: every key is a field of the schema,
every required field and every field with a default is present, no null where none is
allowed, and each value passes its field's own ``deserialize`` (validators included) and
serialises back to the same value of the same type. When it cannot be sure — a hook, a
field kind it does not know, a value that would change — it answers False and the caller
takes the full marshmallow path, which also produces the error message.
"""
import math
from datetime import date, datetime
from functools import cache

from marshmallow import Schema, ValidationError, fields, missing

from services.common.schemas import schema_of


def _never(_data) -> bool:
    return False


def _passes(validators, value) -> bool:
    try:
        return all(validator(value) is not False for validator in validators)
    except ValidationError:
        return False


def _iso_moment(parse, aware: bool | None):
    """An ISO date or date-time string that its ``isoformat()`` gives back unchanged, aware
    (``aware`` True), naive (False) or either (None); the parsed value, or None."""
    def load(value):
        if type(value) is not str:
            return None
        try:
            moment = parse(value)
        except ValueError:
            return None
        if aware is not None and (getattr(moment, "tzinfo", None) is not None) != aware:
            return None
        return moment if moment.isoformat() == value else None
    return load


# Field classes whose load and dump are plain enough to check directly: the exact class
# (a subclass may load differently) -> the canonical value's loader (None: not canonical).
_SIMPLE = {
    fields.String: lambda value: value if type(value) is str else None,
    fields.Integer: lambda value: value if type(value) is int else None,
    fields.Boolean: lambda value: value if type(value) is bool else None,
    fields.Float: lambda value: value if type(value) is float and math.isfinite(value) else None,
    fields.AwareDateTime: _iso_moment(datetime.fromisoformat, aware=True),
    fields.NaiveDateTime: _iso_moment(datetime.fromisoformat, aware=False),
    fields.DateTime: _iso_moment(datetime.fromisoformat, aware=None),
    fields.Date: _iso_moment(date.fromisoformat, aware=None),
}


def _leaf(field: fields.Field):
    """A value is canonical for ``field`` when loading it and dumping the result gives back
    the same value, of the same type (``True`` is not ``1``)."""
    simple = _SIMPLE.get(type(field))
    if simple is not None and getattr(field, "format", None) in (None, "iso", "iso8601"):
        validators = field.validators

        def check_simple(value) -> bool:
            if value is None:
                return field.allow_none
            loaded = simple(value)
            return loaded is not None and _passes(validators, loaded)
        return check_simple

    def check(value) -> bool:
        if value is None:
            return field.allow_none
        try:
            loaded = field.deserialize(value)
        except ValidationError:
            return False
        dumped = field._serialize(loaded, None, None)
        return type(dumped) is type(value) and dumped == value
    return check


def _many(item_check, allow_none: bool):
    def check(value) -> bool:
        if value is None:
            return allow_none
        return type(value) is list and all(item_check(item) for item in value)
    return check


def _field_check(field: fields.Field):
    """The check of one field's value, or None when this module cannot tell for it."""
    if isinstance(field, (fields.Method, fields.Function, fields.Pluck, fields.Tuple)):
        return None
    if isinstance(field, fields.Nested):
        if field.validators or field.unknown is not None:
            return None
        inner = _schema_check(field.schema)
        if inner is None:
            return None
        if field.many:
            return _many(inner, field.allow_none)
        return lambda value: field.allow_none if value is None else inner(value)
    if isinstance(field, fields.List):
        if field.validators:
            return None
        inner = _field_check(field.inner)
        return None if inner is None else _many(inner, field.allow_none)
    return _leaf(field)


def _schema_check(schema: Schema):
    if any(schema._hooks.values()):
        return None
    entries = []
    for name, field in schema.fields.items():
        if field.load_only or field.dump_only or field.attribute not in (None, name):
            return None
        check = _field_check(field)
        if check is None:
            return None
        must_be_present = field.required or field.load_default is not missing \
            or field.dump_default is not missing
        entries.append((field.data_key or name, must_be_present, check))
    keys = frozenset(key for key, _, _ in entries)

    def check(data) -> bool:
        if type(data) is not dict or not keys.issuperset(data):
            return False
        for key, must_be_present, check_value in entries:
            if key in data:
                if not check_value(data[key]):
                    return False
            elif must_be_present:
                return False
        return True
    return check


@cache
def canonical_check(schema_class: type[Schema]):
    """``check(data)``: True only when ``data`` is certainly what ``schema_class`` would
    load and dump it to (a check that always says False when the schema has hooks or
    fields this module does not know)."""
    return _schema_check(schema_of(schema_class)) or _never
