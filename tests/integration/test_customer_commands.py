"""Other systems upsert customers over the queue; bad commands are dead-lettered with the reason."""
import uuid

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter

from services.customer.service import CustomerService
from tests.support.commands import dead_letters, publish_command, send_command
from tests.support.customers import customer_payload
from tests.support.waiting import wait_until


@pytest.fixture
def service(make_config, container_factory):
    container = container_factory(CustomerService, make_config("customer"))
    container.start()
    return container


@pytest.fixture
def config(service):
    return service.config


def send(config, data, command_id=None):
    send_command(config["AMQP_URI"], "customer.upsert", data, command_id)


REQUIRED = ("contact_name", "phone", "industry", "type", "source")


def find(config, query):
    with ClusterRpcProxy(config, timeout=10) as rpc:
        return rpc.customers.list({"q": query})["items"]


def test_upsert_creates_then_updates_the_same_customer(config):
    send(config, customer_payload(name="Queue Made Ltd", industry="TECH", phone="13511112222"))
    created = wait_until(lambda: find(config, "Queue Made"))[0]
    send(config, {"name": "QUEUE MADE LTD", "grade": "A"})  # an update needs no more
    updated = wait_until(lambda: [c for c in find(config, "queue made") if c["grade"] == "A"])
    assert [(c["id"], c["name"]) for c in updated] == [(created["id"], "QUEUE MADE LTD")]


def test_a_repeated_command_takes_effect_once(config, service):
    command_id = str(uuid.uuid4())
    send(config, customer_payload(name="Once Only Co", industry="FIN"), command_id)
    wait_until(lambda: find(config, "Once Only"))
    with entrypoint_waiter(service, "upsert_command", timeout=20):  # the repeat is handled
        send(config, customer_payload(name="Once Only Co", industry="FIN", grade="A"), command_id)
    assert find(config, "Once Only")[0]["grade"] == "C"


def test_invalid_commands_go_to_the_dead_letter_queue_with_the_reason(config):
    send(config, customer_payload(name="Bad Industry", industry="SPACE"))
    publish_command(config["AMQP_URI"], "customer.upsert", {"type": "customer.upsert"})
    send(config, customer_payload(name=None))
    for required in REQUIRED:
        send(config, customer_payload(name=f"Without {required}", **{required: None}))
    messages = []
    while len(messages) < 3 + len(REQUIRED):
        messages += wait_until(lambda: dead_letters(config["AMQP_URI"]), timeout=15)
    reasons = [message.headers["x-deskflow-reason"] for message in messages]
    assert any("ValidationFailed" in reason and '"industry"' in reason for reason in reasons)
    for required in ("name", *REQUIRED):  # each named in a reason
        assert any("ValidationFailed" in reason and f'"{required}"' in reason
                   for reason in reasons), required
    assert all(message.headers["x-deskflow-consumer"] == "customers.upsert_command" for message in messages)
    assert find(config, "Bad Industry") == []
