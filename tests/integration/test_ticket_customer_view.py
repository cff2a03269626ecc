"""The ticket service's view of customers (``services/ticket/customers.py``) on fresh
PostgreSQL databases: kept from the customer service's events, each event once, the newest
state winning whatever order the events arrive in; and creating a ticket reads it, asking
the customer service only about a customer the view does not hold yet, refusing one it
knows deleted."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from services.common.clock import ManualClock
from services.common.db import make_engine
from services.common.errors import BadRequest, ValidationFailed
from services.customer.service import CustomerService
from services.ticket import customers, models
from services.ticket.service import TicketService
from tests.support.customers import customer_payload
from tests.support.services import call, event, publish
from tests.support.twins import World
from tests.support.waiting import wait_until

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
CUSTOMER_ID = "2026-TECH-00001"


@pytest.fixture
def world(databases):
    world = World(make_engine(databases.fresh("ticket")), models, "tickets", ManualClock(START))
    yield world
    world.close()


def customer_event(event_type: str, at: datetime, **fields) -> dict:
    shown = {"id": CUSTOMER_ID, "name": "Acme", "owner": "lina", "email": "buyer@acme.test",
             "language": "zh", "grade": "B", **fields}
    return event(event_type, {"customer": shown, "changes": []}, "customers", at)


def view_of(engine) -> dict:
    """customer id → (owner, email, language, deleted, as_of)."""
    table = models.KnownCustomer.__table__
    with engine.connect() as connection:
        return {row.id: (row.owner, row.email, row.language, row.deleted, row.as_of)
                for row in connection.execute(select(table))}


def email_of(engine, ticket_id: str) -> str | None:
    """The customer's address the ticket keeps for its notices (not shown by the API)."""
    with engine.connect() as connection:
        return connection.scalar(select(models.Ticket.customer_email)
                                 .where(models.Ticket.id == ticket_id))


def learn(world, *envelopes) -> int:
    return customers.learn_customers(world.uow(), list(envelopes))


def test_the_newest_state_wins_whatever_order_the_events_arrive_in(world):
    created = customer_event("customer.created", START)
    newest = customer_event("customer.updated", START + 2 * HOUR, owner="wang",
                            email="wang@acme.test")
    older = customer_event("customer.updated", START + HOUR, owner="zhao", language="en")
    assert learn(world, newest, older) == 2
    assert learn(world, created) == 1
    assert view_of(world.engine) == {
        CUSTOMER_ID: ("wang", "wang@acme.test", "zh", False, START + 2 * HOUR)}
    deleted = customer_event("customer.deleted", START + 3 * HOUR, owner="wang")
    late = customer_event("customer.updated", START + 2.5 * HOUR, owner="qian")
    assert learn(world, deleted, late) == 2
    assert view_of(world.engine)[CUSTOMER_ID][3:] == (True, START + 3 * HOUR)


def test_each_event_is_applied_once(world):
    """Two events of the same moment: the later delivered wins, and a redelivery of the
    first (which its time alone would let through) changes nothing."""
    created = customer_event("customer.created", START)
    updated = customer_event("customer.updated", START, owner="wang")
    assert learn(world, created, created, updated) == 2
    assert learn(world, created) == 0
    assert learn(world, updated, created) == 0
    assert view_of(world.engine)[CUSTOMER_ID][0] == "wang"


def test_a_payload_without_a_customer_fails_the_whole_batch(world):
    created = customer_event("customer.created", START)
    with pytest.raises(BadRequest):
        learn(world, created, {**customer_event("customer.updated", START), "data": {}})
    assert view_of(world.engine) == {}
    assert learn(world, created) == 1


def ticket_payload(customer_id: str) -> dict:
    return {"customer_id": customer_id, "service_type": "aftersales", "category": "inquiry",
            "title": "Printer jams"}


def test_create_reads_the_view_without_the_customer_service(runner_factory, make_config):
    """No customer service runs: a customer the view learnt from its events gets tickets,
    one it knows deleted is refused as ``customers.get`` would refuse it."""
    config = make_config("ticket", RPC_TIMEOUT="1", SLA_SWEEP_SECONDS="3600")
    runner = runner_factory(config, TicketService)
    runner.start()
    engine = make_engine(config["DESKFLOW_SETTINGS"].database_url("ticket"))
    now = datetime.now(timezone.utc)
    publish(config["AMQP_URI"], customer_event("customer.created", now, owner="lina",
                                               language="en"))
    wait_until(lambda: CUSTOMER_ID in view_of(engine))
    ticket = call(runner, "tickets.create", ticket_payload(CUSTOMER_ID))
    assert (ticket["owner"], ticket["language"]) == ("lina", "en")
    assert email_of(engine, ticket["id"]) == "buyer@acme.test"
    publish(config["AMQP_URI"], customer_event("customer.deleted", now + HOUR))
    wait_until(lambda: view_of(engine)[CUSTOMER_ID][3])
    with pytest.raises(ValidationFailed) as refused:
        call(runner, "tickets.create", ticket_payload(CUSTOMER_ID))
    assert str(refused.value) == f"customer_id: no customer {CUSTOMER_ID}."
    engine.dispose()


def test_a_customer_the_view_does_not_hold_is_asked_of_the_customer_service(
        runner_factory, make_config):
    """The customer is made before the ticket service's queues exist, so its event never
    reaches the view: the create asks ``customers.get``."""
    config = make_config("customer", "ticket", SLA_SWEEP_SECONDS="3600")
    customer_side = runner_factory(config, CustomerService)
    customer_side.start()
    customer = call(customer_side, "customers.create", customer_payload(
        industry="TECH", owner="alice", email="it@example.test"))
    ticket_side = runner_factory(config, TicketService)
    ticket_side.start()
    ticket = call(ticket_side, "tickets.create", ticket_payload(customer["id"]))
    engine = make_engine(config["DESKFLOW_SETTINGS"].database_url("ticket"))
    assert (ticket["owner"], email_of(engine, ticket["id"])) == ("alice", "it@example.test")
    assert customer["id"] not in view_of(engine)
    engine.dispose()
