"""Customer service entrypoints run by Nameko's ``worker_factory`` with a real unit of work
on a fresh PostgreSQL database and a clock the test moves; its event consumers' use cases
applied to batches of deliveries, beside the same events one by one on a twin database."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.clock import ManualClock
from services.common.context import CallContext
from services.common.db import make_engine
from services.common.errors import ValidationFailed
from services.common.outbox import UnitOfWork
from services.customer import consumed, customers, models
from services.customer.service import CustomerService
from tests.support.customers import customer_payload
from tests.support.twins import twin_worlds

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def world(databases):
    engine = make_engine(databases.fresh("customer"))
    clock = ManualClock(START)
    factory = sessionmaker(engine, expire_on_commit=False)
    units = []

    def worker(actor="alice"):
        unit = UnitOfWork(factory, models, "customers", CallContext("req", actor, "sales"), clock)
        units.append(unit)
        return worker_factory(CustomerService, uow=unit)

    yield worker, clock, factory
    for unit in units:  # what Nameko's worker teardown does
        unit.close()
    engine.dispose()


def ticket_event(customer_id, at):
    return {"id": str(uuid.uuid4()), "type": "ticket.created", "occurred_at": at.isoformat(),
            "source": "tickets", "request_id": None,
            "data": {"ticket": {"id": f"{customer_id}-001", "customer_id": customer_id}}}


def test_ticket_activity_counts_once_per_event(world):
    worker, clock, factory = world
    service = worker()
    customer = service.create(customer_payload(name="Active Through Tickets", industry="TECH"))
    clock.advance(timedelta(days=120).total_seconds())
    assert worker().get(customer["id"])["status"] == "dormant"
    event = ticket_event(customer["id"], clock.now())
    for _ in range(2):  # delivered twice
        worker().ticket_activity([event])
    with factory() as session:
        claims = session.scalars(select(models.ProcessedEvent)).all()
    assert len(claims) == 1
    assert worker().get(customer["id"])["status"] == "active"


def test_the_followup_plan_follows_the_workflow_grade_rules(world):
    """The plan is owned by the workflow service; its event sets the intervals used here,
    once per event id."""
    worker, clock, factory = world
    event = {"id": str(uuid.uuid4()), "type": "followup.plan_changed", "source": "workflow",
             "occurred_at": clock.now().isoformat(), "data": {"plan": {"A": 3, "B": 10, "C": 20}}}
    for _ in range(2):
        worker().followup_plan_changed([event])
    created = worker().create(customer_payload(name="Tight Plan", industry="SVC", grade="A"))
    due = datetime.fromisoformat(created["next_followup_due_at"])
    assert due - clock.now() == timedelta(days=3)
    with factory() as session:
        assert len(session.scalars(select(models.ProcessedEvent)).all()) == 1


@pytest.fixture
def twins(databases):
    worlds = twin_worlds(databases, "customer", models, "customers", START)
    yield worlds
    for world in worlds:
        world.close()


def activity_in_batches(twins):
    """Two customers made alike on both sides, and ticket events about them (one about a
    customer unknown here): a later event delivered before an earlier one, two repeats."""
    one_by_one, batched = twins
    made = [customer_payload(name=f"Batched {n}", phone=f"1390000000{n}", industry="TECH")
            for n in (1, 2)]
    ids = [[worker_factory(CustomerService, uow=world.uow()).create(payload)["id"]
            for payload in made] for world in twins]
    assert ids[0] == ids[1]
    first, second = ids[0]
    day = timedelta(days=1)
    events = [ticket_event(first, START + 3 * day), ticket_event(first, START + day),
              ticket_event(second, START + 2 * day), ticket_event("2026-TECH-99999", START + day)]
    return one_by_one, batched, events, (first, second)


def test_a_batch_of_ticket_activity_applies_as_its_events_one_by_one(twins):
    one_by_one, batched, events, (first, second) = activity_in_batches(twins)
    for event in [*events, events[0]]:
        worker_factory(CustomerService, uow=one_by_one.uow()).ticket_activity([event])
    assert consumed.record_ticket_activity(batched.uow(), [*events[:2], events[0]]) == 2
    assert consumed.record_ticket_activity(batched.uow(), events[1:]) == 2  # one seen before
    assert consumed.record_ticket_activity(batched.uow(), [events[2]]) == 0

    known = [event["id"] for event in events]
    assert batched.tables(known) == one_by_one.tables(known)
    with sessionmaker(batched.engine)() as session:
        last = dict(session.execute(select(models.Customer.id,
                                           models.Customer.last_activity_at)).all())
        claims = session.scalars(select(models.ProcessedEvent.event_id)).all()
    assert last[first] == START + timedelta(days=3) and last[second] == START + timedelta(days=2)
    assert sorted(claims) == sorted(known)


def test_a_payload_that_cannot_be_read_fails_the_whole_batch(twins):
    _, batched, events, _ = activity_in_batches(twins)
    before = batched.tables()
    unreadable = {**events[1], "data": {"ticket": {"id": "2026-TECH-00001-001"}}}
    for bad in (unreadable, {"id": "not an envelope"}):
        with pytest.raises((KeyError, ValidationFailed)):
            consumed.record_ticket_activity(batched.uow(), [events[0], bad])
    assert batched.tables() == before  # not even the good event's claim


def test_followup_plans_in_one_batch_apply_in_order_and_once(twins):
    one_by_one, batched = twins
    plans = [{"id": str(uuid.uuid4()), "type": "followup.plan_changed", "source": "workflow",
              "occurred_at": START.isoformat(), "data": {"plan": plan}}
             for plan in ({"A": 3, "B": 10, "C": 20}, {"A": 5, "B": 10, "C": 25})]
    for event in [*plans, plans[0]]:
        worker_factory(CustomerService, uow=one_by_one.uow()).followup_plan_changed([event])
    assert consumed.apply_followup_plans(batched.uow(), [plans[0], plans[1], plans[0]]) == 2
    assert consumed.apply_followup_plans(batched.uow(), plans[:1]) == 0
    known = [plan["id"] for plan in plans]
    assert batched.tables(known) == one_by_one.tables(known)
    with sessionmaker(batched.engine)() as session:
        assert customers.followup_plan(session) == {"A": 5, "B": 10, "C": 25}
