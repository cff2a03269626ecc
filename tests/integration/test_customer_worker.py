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


def outbox_types(factory):
    with factory() as session:
        return [row.event_type for row in session.scalars(
            select(models.Outbox).order_by(models.Outbox.created_at))]


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


def test_overdue_followups_remind_once_per_due_date(world):
    worker, clock, factory = world
    created = worker().create(customer_payload(name="Grade A Client", industry="FIN", grade="A"))
    clock.advance(timedelta(days=6).total_seconds())
    worker().remind_overdue_followups()
    assert "followup.overdue" not in outbox_types(factory)
    clock.advance(timedelta(days=2).total_seconds())  # 8 days: grade A is due every 7
    for _ in range(3):
        worker().remind_overdue_followups()
    assert outbox_types(factory).count("followup.overdue") == 1
    worker().log_followup(created["id"], {"at": clock.now().isoformat(), "channel": "phone",
                                             "subject": "Caught up", "outcome": "neutral"})
    clock.advance(timedelta(days=8).total_seconds())
    worker().remind_overdue_followups()
    assert outbox_types(factory).count("followup.overdue") == 2


def test_the_followup_plan_is_configurable(world):
    worker, clock, factory = world
    worker().set_followup_plan({"A": 3, "B": 10, "C": 20})
    created = worker().create(customer_payload(name="Tight Plan", industry="SVC", grade="A"))
    due = datetime.fromisoformat(created["next_followup_due_at"])
    assert due - clock.now() == timedelta(days=3)
    assert worker().followup_plan() == {"A": 3, "B": 10, "C": 20}
