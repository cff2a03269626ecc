"""The compiled check that lets an event's data skip marshmallow's load and dump: it says
yes only to data the schema would give back unchanged, and no to anything else (which then
takes the full path, with its error message)."""
import pytest
from marshmallow import Schema, fields, post_load, validate

from services.common.canonical import canonical_check
from services.common.events import Catalogue, InvalidEvent
from services.common.schemas import schema_of


class Line(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1))
    quantity = fields.Integer(required=True, validate=validate.Range(min=1))


class Order(Schema):
    id = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(["open", "closed"]))
    urgent = fields.Boolean(required=True)
    amount = fields.Float(allow_none=True)
    placed_at = fields.AwareDateTime(required=True)
    due_on = fields.Date(allow_none=True)
    lines = fields.List(fields.Nested(Line), required=True)
    buyer = fields.Nested(Line, allow_none=True)
    tags = fields.List(fields.String())
    extra = fields.Dict()
    anything = fields.Raw(allow_none=True)
    channel = fields.String(load_default="web")
    note = fields.String(data_key="remark")


ORDER = {"id": "o-1", "state": "open", "urgent": False, "amount": 12.5,
         "placed_at": "2026-11-26T08:30:00+00:00", "due_on": "2026-12-01",
         "lines": [{"sku": "a", "quantity": 2}], "buyer": None, "tags": ["x"],
         "extra": {"k": [1, 2]}, "anything": {"free": True}, "channel": "phone",
         "remark": "hello"}


def full(data):
    schema = schema_of(Order)
    return schema.dump(schema.load(data))


def test_canonical_data_passes_and_is_what_the_schema_gives_back():
    assert canonical_check(Order)(ORDER)
    assert full(ORDER) == ORDER


@pytest.mark.parametrize("change", [
    {"state": "lost"},  # a validator refuses it
    {"urgent": 0},  # loads as False: not the same value
    {"amount": 12},  # dumps as 12.0
    {"placed_at": "2026-11-26T08:30:00Z"},  # dumps with +00:00
    {"placed_at": "2026-11-26T08:30:00"},  # naive
    {"due_on": "2026-12-1"},
    {"lines": [{"sku": "", "quantity": 2}]},
    {"lines": [{"sku": "a", "quantity": "2"}]},
    {"lines": ({"sku": "a", "quantity": 2},)},
    {"buyer": {"sku": "a"}},  # a required member missing
    {"id": None},  # null where none is allowed
    {"unknown": 1},
    {"note": "under its attribute name, not its data key"},
])
def test_anything_else_takes_the_full_path(change):
    assert not canonical_check(Order)({**ORDER, **change})


@pytest.mark.parametrize("missing", ["id", "lines", "channel"])
def test_a_required_member_or_one_with_a_default_must_be_there(missing):
    data = {key: value for key, value in ORDER.items() if key != missing}
    assert not canonical_check(Order)(data)


def test_optional_members_may_be_left_out():
    data = {key: value for key, value in ORDER.items() if key not in ("amount", "tags", "remark")}
    assert canonical_check(Order)(data)
    assert full(data) == data


class Hooked(Schema):
    name = fields.String()

    @post_load
    def upper(self, data, **kwargs):
        return {"name": data["name"].upper()}


def test_a_schema_with_hooks_always_takes_the_full_path():
    assert not canonical_check(Hooked)({"name": "a"})


def test_emit_returns_canonical_data_as_it_is_and_still_refuses_bad_data():
    events = Catalogue("shop")
    events.declare("order.placed", "An order was placed.",
                   order=fields.Nested(Order, required=True))
    data = {"order": ORDER}
    assert events.payload("order.placed", data) is data
    with pytest.raises(InvalidEvent, match="state"):
        events.payload("order.placed", {"order": {**ORDER, "state": "lost"}})
    assert events.payload("order.placed", {"order": {**ORDER, "amount": 12}}) == \
        {"order": {**ORDER, "amount": 12.0}}
