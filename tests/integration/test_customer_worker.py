"""Customer service entrypoints run by Nameko's ``worker_factory`` with a real unit of work
on a fresh PostgreSQL database and a clock the test moves."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.clock import ManualClock
from services.common.context import CallContext
from services.common.db import make_engine
from services.common.outbox import UnitOfWork
from services.customer import models
from services.customer.service import CustomerService
from tests.support.customers import customer_payload

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
        worker().ticket_activity(event)
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
        worker().followup_plan_changed(event)
    created = worker().create(customer_payload(name="Tight Plan", industry="SVC", grade="A"))
    due = datetime.fromisoformat(created["next_followup_due_at"])
    assert due - clock.now() == timedelta(days=3)
    with factory() as session:
        assert len(session.scalars(select(models.ProcessedEvent)).all()) == 1
