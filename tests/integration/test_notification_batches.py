"""The notification service's events in batches, on a fresh PostgreSQL database, beside a
twin database that takes the same events one by one through the service's entrypoint
(Nameko's ``worker_factory`` with real units of work): every table ends alike (inbox
entries, email and webhook deliveries, who serves a customer, the recipients), each event is
recorded once, and a payload that cannot be read fails the whole batch before anything is
written."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from services.common.errors import ValidationFailed
from services.common.events import make_envelope
from services.notification import intake, live, models, notifications
from services.notification.service import NotificationService
from tests.support.twins import twin_worlds

START = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
CUSTOMER = {"id": "2026-SVC-00042", "name": "Served Co", "owner": "olga"}
EMAIL = SimpleNamespace(email_enabled=True, first_admin="admin")


@pytest.fixture
def twins(databases):
    worlds = twin_worlds(databases, "notification", models, "notifications", START)
    for world in worlds:  # a webhook for ticket events on both sides
        notifications.create_webhook(world.uow(), {
            "url": "http://127.0.0.1:9/hook", "secret": "s" * 16,
            "event_types": ["ticket.created", "ticket.assigned"]}, allow_private=True)
    yield worlds
    for world in worlds:
        world.close()


def event(event_type: str, data: dict, at: datetime = START, source: str = "tickets") -> dict:
    return make_envelope(event_type, data, source, "req-1", at)


def user(username: str, role: str, team: str | None = None) -> dict:
    return event("user.created", {"user": {"username": username, "role": role, "team": team,
                                           "active": True, "email": f"{username}@example.com"}},
                 source="gateway")


def ticket(number: int, owner: str, state: str = "pending", at: datetime = START) -> dict:
    return {"ticket": {"id": f"{CUSTOMER['id']}-{number:03d}", "customer_id": CUSTOMER["id"],
                       "title": "Help", "owner": owner, "priority": "low", "state": state,
                       "updated_at": at.isoformat()}}


def mixed_events() -> list[dict]:
    """Users (a manager, agents, a second admin); tickets made and handed on, one hand-over
    delivered before its creation; a contact change that must reach whoever the earlier
    events made serve the customer; a low rating escalated to the owner's managers."""
    later = START + timedelta(hours=1)
    return [
        user("mia", "manager", team="north"), user("bob", "support", team="north"),
        user("root", "admin"),
        event("ticket.assigned", ticket(1, "bob", "in_progress", later), later),
        event("ticket.created", ticket(1, "ann")),
        event("ticket.created", ticket(2, "bob")),
        event("ticket.created", ticket(3, "dan")),
        event("ticket.transitioned", {**ticket(3, "dan", "done", later), "to": "done"}, later),
        event("customer.updated", {"customer": CUSTOMER, "contact_changed": True, "changes": [
            {"field": "phone", "before": "13800000001", "after": "13800000002"}]},
            later, "customers"),
        event("ticket.dissatisfied", {**ticket(2, "bob", "done", later),
                                      "rating": {"score": 1, "comment": "slow"}}, later),
    ]


def one_by_one_worker(world):
    return worker_factory(NotificationService, uow=world.uow(), delivery=EMAIL,
                          survey_link=lambda survey_id: None)


def handle_events(world, payloads) -> int:
    return intake.handle_events(world.uow(), payloads, EMAIL.email_enabled, EMAIL.first_admin)


def test_batches_leave_every_table_as_the_events_one_by_one(twins):
    one_by_one, batched = twins
    events = mixed_events()
    for envelope in [*events, events[4]]:
        one_by_one_worker(one_by_one).handle_event([envelope])
    assert handle_events(batched, [*events[:5], events[4], events[0]]) == 5
    assert handle_events(batched, events[3:]) == 5  # two seen before
    assert handle_events(batched, events[-1:]) == 0

    known = [envelope["id"] for envelope in events]
    assert batched.tables(known) == one_by_one.tables(known)
    with sessionmaker(batched.engine)() as session:
        heard = dict(session.execute(select(models.InboxEntry.username, func.count())
                                     .group_by(models.InboxEntry.username)).all())
        hooks = session.scalar(select(func.count()).select_from(models.Delivery)
                               .where(models.Delivery.channel == "webhook"))
    # contact change: the owner and who serves the customer now (bob, twice on tickets);
    # bob hears of his tickets, the rating goes to bob and his manager
    assert heard == {"olga": 1, "bob": 4, "ann": 1, "dan": 2, "mia": 1}
    assert hooks == 4


def test_a_payload_that_cannot_be_read_fails_the_whole_batch(twins):
    _, batched = twins
    events = mixed_events()
    before = batched.tables()
    no_ticket = {**events[4], "data": {"to": "done"}}
    for bad in (no_ticket, {**events[5], "type": None}):
        with pytest.raises(ValidationFailed):
            handle_events(batched, [events[0], events[4], bad])
    assert batched.tables() == before
    assert handle_events(batched, events[:1]) == 1


def test_a_batch_that_can_change_nothing_is_left_unclaimed_until_a_webhook_wants_it(twins):
    _, batched = twins
    created = event("customer.created", {"customer": CUSTOMER}, source="customers")
    before = batched.tables()
    assert handle_events(batched, [created, created]) == 0
    assert batched.tables() == before  # not even a claim
    notifications.create_webhook(batched.uow(), {
        "url": "http://127.0.0.1:9/customers", "secret": "s" * 16,
        "event_types": ["customer.created"]}, allow_private=True)
    assert handle_events(batched, [created, created]) == 1
    assert handle_events(batched, [created]) == 0
    with sessionmaker(batched.engine)() as session:
        targets = session.scalars(select(models.Delivery.target)
                                  .where(models.Delivery.event_id == created["id"])).all()
    assert len(targets) == 1


def test_a_webhook_another_replica_made_is_seen_once_the_view_is_old_enough(twins, monkeypatch):
    _, batched = twins
    created = event("customer.created", {"customer": CUSTOMER}, source="customers")
    assert handle_events(batched, [created]) == 0  # this process's view: no taker
    with sessionmaker(batched.engine)() as session:  # another replica's change, committed
        session.add(models.Webhook(url="http://127.0.0.1:9/other", secret="s" * 16,
                                   event_types=["customer.created"], created_at=START,
                                   created_by="admin"))
        session.commit()
    later = live.monotonic() + live.MAX_AGE  # the other replica answers no sooner
    monkeypatch.setattr(live, "monotonic", lambda: later)
    assert handle_events(batched, [created]) == 1


def test_a_webhook_change_is_answered_once_every_view_has_it(monkeypatch):
    slept = []
    monkeypatch.setattr(live.eventlet, "sleep", lambda seconds: slept.append(seconds))
    assert live.settled(lambda: slept.append("committed") or "answer")() == "answer"
    assert slept == ["committed", live.MAX_AGE]
