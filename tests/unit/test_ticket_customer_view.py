"""Which state of a customer the ticket service's view keeps from a batch of its events,
and what a new ticket takes from what it holds."""
from datetime import datetime, timedelta, timezone

import pytest

from services.common.errors import BadRequest, ValidationFailed
from services.ticket.customers import NotInView, from_view, newest_states, state_of

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def envelope(event_type: str, at: datetime, **shown) -> dict:
    return {"id": "e", "type": event_type, "occurred_at": at.isoformat(), "source": "customers",
            "data": {"customer": {"id": "2026-TECH-00001", "owner": "lina", **shown}}}


def test_a_state_is_the_customer_as_the_event_shows_it():
    assert state_of(envelope("customer.deleted", START, email=None, phone="1")) == {
        "id": "2026-TECH-00001", "owner": "lina", "email": None, "language": None,
        "deleted": True, "as_of": START}
    assert state_of(envelope("customer.updated", START))["deleted"] is False
    with pytest.raises(BadRequest):
        state_of({**envelope("customer.created", START), "data": {}})


def test_the_newest_state_of_each_customer_wins_and_a_tie_goes_to_the_later_delivered():
    later = START + timedelta(minutes=1)
    states = [state_of(envelope("customer.updated", later, owner="wang")),
              state_of(envelope("customer.created", START, owner="zhao")),
              state_of(envelope("customer.updated", later, owner="qian")),
              state_of(envelope("customer.created", START, id="2026-EDU-00001"))]
    assert [(state["id"], state["owner"]) for state in newest_states(states)] == [
        ("2026-EDU-00001", "lina"), ("2026-TECH-00001", "qian")]


def test_a_ticket_takes_the_customer_the_view_holds_and_no_deleted_one():
    assert from_view("2026-TECH-00001", (False, "lina", None, "en")) == {
        "owner": "lina", "email": None, "language": "en"}
    with pytest.raises(NotInView):
        from_view("2026-TECH-00001", (None, None, None, None))
    with pytest.raises(ValidationFailed) as refused:
        from_view("2026-TECH-00001", (True, "lina", None, "en"))
    assert str(refused.value) == "customer_id: no customer 2026-TECH-00001."
    assert refused.value.details == {"fields": {"customer_id": ["No customer 2026-TECH-00001."]}}
