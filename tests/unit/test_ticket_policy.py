"""The SLA policy document of ``PUT /sla/policy``: its exact shape, and a 422 naming the
field for anything else."""
import pytest

from services.common.errors import ValidationFailed
from services.common.schemas import load_or_422
from services.ticket import sla
from services.ticket.schemas import SlaPolicySchema

CALENDAR = {"timezone": "Asia/Shanghai", "hours": {"mon": ["09:00", "18:30"]},
            "holidays": ["2026-10-01"]}


def load(document):
    schema = SlaPolicySchema()
    return schema.dump(load_or_422(schema, document))


def test_the_default_policy_is_the_seeds_service_times():
    assert load(sla.DEFAULT_POLICY) == {
        "first_response": {"inquiry": 600, "complaint": 600, "default": 7200},
        "resolution": {"default": 7200, "complex": 86400}, "update": 172800}


def test_a_policy_may_still_set_per_priority_targets():
    policy = {**sla.DEFAULT_POLICY, "resolution": {"default": 7200, "high": 3600, "low": 86400}}
    assert load(policy)["resolution"] == {"default": 7200, "high": 3600, "low": 86400}


def test_a_calendar_round_trips_and_becomes_a_calendar():
    stored = load({**sla.DEFAULT_POLICY, "calendar": CALENDAR})
    assert stored["calendar"] == CALENDAR
    calendar = sla.Calendar.from_policy(stored["calendar"])
    assert calendar.zone.key == "Asia/Shanghai" and set(calendar.hours) == {0}


@pytest.mark.parametrize("change, field", [
    ({"update": 0}, "update"),
    ({"update": "soon"}, "update"),
    ({"first_response": {"complaint": 600}}, "first_response"),
    ({"first_response": {"default": 600, "unknown_category": 60}}, "first_response"),
    ({"resolution": {"high": 1, "medium": 2, "low": 3}}, "resolution"),
    ({"resolution": {"default": 1, "urgent": 4}}, "resolution"),
    ({"calendar": {**CALENDAR, "timezone": "Mars/Olympus"}}, "calendar"),
    ({"calendar": {**CALENDAR, "hours": {"mon": ["18:00", "09:00"]}}}, "calendar"),
    ({"calendar": {**CALENDAR, "hours": {"someday": ["09:00", "18:00"]}}}, "calendar"),
    ({"calendar": {**CALENDAR, "hours": {"mon": ["9 am", "6 pm"]}}}, "calendar"),
    ({"calendar": {**CALENDAR, "hours": {}}}, "calendar"),
    ({"calendar": {**CALENDAR, "holidays": ["National Day"]}}, "calendar"),
    ({"escalate": True}, "escalate"),
])
def test_a_bad_policy_is_422_naming_the_field(change, field):
    with pytest.raises(ValidationFailed) as refused:
        load({**sla.DEFAULT_POLICY, **change})
    assert field in refused.value.details["fields"]
