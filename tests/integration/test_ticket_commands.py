"""Other systems open tickets over the queue: once per command id; invalid commands
(unknown customer, bad fields) are dead-lettered with the reason."""
import uuid

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter
from nameko.testing.utils import get_container

from services.customer.service import CustomerService
from services.ticket.service import TicketService
from tests.support.commands import dead_letters, send_command
from tests.support.customers import customer_payload
from tests.support.waiting import wait_until


@pytest.fixture
def tickets(make_config, runner_factory):
    """The ticket service's container (the customer service runs beside it)."""
    runner = runner_factory(make_config("customer", "ticket", SLA_SWEEP_SECONDS="3600"),
                            CustomerService, TicketService)
    runner.start()
    return get_container(runner, TicketService)


@pytest.fixture
def config(tickets):
    return tickets.config


def send(config, data, command_id=None):
    send_command(config["AMQP_URI"], "ticket.create", data, command_id)


def tickets_of(config, customer_id):
    with ClusterRpcProxy(config, timeout=10) as rpc:
        return rpc.tickets.list({"customer_id": customer_id})["items"]


@pytest.fixture
def customer(config):
    with ClusterRpcProxy(config, timeout=10) as rpc:
        return rpc.customers.create(customer_payload(name="Commanded Co", industry="EDU",
                                                     owner="li"))


def ticket_data(customer, title):
    return {"customer_id": customer["id"], "service_type": "aftersales", "category": "need",
            "title": title}


def test_a_command_opens_a_ticket_once(config, tickets, customer):
    command_id = str(uuid.uuid4())
    send(config, ticket_data(customer, "From the ERP"), command_id)
    created = wait_until(lambda: tickets_of(config, customer["id"]))
    assert [(t["title"], t["owner"], t["state"]) for t in created] == [("From the ERP", "li", "pending")]
    with entrypoint_waiter(tickets, "create_command", timeout=20):  # the repeat is handled
        send(config, ticket_data(customer, "From the ERP"), command_id)
    assert [t["id"] for t in tickets_of(config, customer["id"])] == [created[0]["id"]]


def test_invalid_commands_are_dead_lettered_with_the_reason(config, customer):
    send(config, {**ticket_data(customer, "Nobody"), "customer_id": "2026-EDU-404"})
    send(config, {**ticket_data(customer, "Bad"), "priority": "urgent"})
    messages = []
    while len(messages) < 2:
        messages += wait_until(lambda: dead_letters(config["AMQP_URI"]), timeout=15)
    reasons = [message.headers["x-deskflow-reason"] for message in messages]
    assert all(reason.startswith("services.common.errors.ValidationFailed") for reason in reasons)
    assert any("customer_id: no customer 2026-EDU-404" in reason for reason in reasons)
    assert {m.headers["x-deskflow-consumer"] for m in messages} == {"tickets.create_command"}
    assert tickets_of(config, customer["id"]) == []
