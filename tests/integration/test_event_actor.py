"""Who acted travels with the events: a call made as a user writes its events to the ticket
service's outbox with the actor, the relay publishes it as the ``nameko.actor`` header, and a
real consumer (the notification service) acts on it. No header is made up by the test."""
import pytest
from nameko.testing.services import entrypoint_waiter
from nameko.testing.utils import get_container

from services.customer.service import CustomerService
from services.notification.service import NotificationService
from services.ticket.service import TicketService
from tests.support.customers import customer_payload
from tests.support.services import call


@pytest.fixture
def runner(runner_factory, make_config):
    config = make_config("customer", "ticket", "notification", SLA_SWEEP_SECONDS="3600")
    runner = runner_factory(config, CustomerService, TicketService, NotificationService)
    runner.start()
    return runner


def open_as(runner, actor, customer, owner) -> tuple[dict, dict]:
    """Open a ticket as ``actor``; returns it and the context data the notification service
    handled its ``ticket.created`` with."""
    seen = {}

    def created(worker_ctx, result, exc_info):
        if "ticket.created" not in {payload["type"] for payload in worker_ctx.args[0]}:
            return False
        seen.update(worker_ctx.data)
        return True

    with entrypoint_waiter(get_container(runner, NotificationService), "handle_event",
                           callback=created, timeout=30):
        ticket = call(runner, "tickets.create", {
            "customer_id": customer["id"], "service_type": "aftersales", "category": "inquiry",
            "title": "Printer jams", "owner": owner}, actor=actor)
    return ticket, seen


def test_the_actor_of_a_call_reaches_the_consumers_of_its_events(runner):
    customer = call(runner, "customers.create", customer_payload(name="Acted Ltd"), actor="kim")
    own, context = open_as(runner, "kim", customer, owner="kim")
    assert context["actor"] == "kim"
    other, context = open_as(runner, "kim", customer, owner="lee")
    assert context["actor"] == "kim"

    assert call(runner, "notifications.inbox", {}, actor="kim")["total"] == 0  # self-assigned
    (told,) = call(runner, "notifications.inbox", {}, actor="lee")["items"]
    assert told["kind"] == "ticket_assigned" and other["id"] in told["title"]
    assert own["id"] != other["id"]
