"""A create that reaches the ticket service twice under one idempotency key (a client retry,
or RabbitMQ redelivering the request after a broker restart) makes one ticket."""
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook
from sqlalchemy import create_engine, text

from tests.integration.test_ticket_service import clock, customer, services  # noqa: F401 (fixtures)


def create(runner, customer, key, title="Printer jams"):
    container = runner.service_map["tickets"]
    payload = {"customer_id": customer["id"], "service_type": "aftersales",
               "category": "inquiry", "title": title}
    with entrypoint_hook(container, "create", context_data={"idempotency_key": key}) as hook:
        return hook(payload)


def tickets_in_database(runner):
    engine = create_engine(runner.config["DESKFLOW_SETTINGS"].database_url("ticket"))
    with engine.connect() as connection:
        number = connection.scalar(text("SELECT count(*) FROM tickets"))
    engine.dispose()
    return number


def test_a_repeated_key_returns_the_first_ticket(services, customer):
    first = create(services, customer, "retry-key-0001")
    again = create(services, customer, "retry-key-0001", title="Changed on retry")
    other = create(services, customer, "retry-key-0002")
    assert again == first
    assert other["id"] != first["id"]
    assert tickets_in_database(services) == 2


def test_concurrent_attempts_under_one_key_make_one_ticket(services, customer):
    payload = {"customer_id": customer["id"], "service_type": "aftersales",
               "category": "inquiry", "title": "Sent five times at once"}
    with ClusterRpcProxy(services.config, timeout=30,
                         context_data={"idempotency_key": "racing-key-0001"}) as rpc:
        pending = [rpc.tickets.create.call_async(payload) for _ in range(5)]
        made = [reply.result() for reply in pending]
    assert len({ticket["id"] for ticket in made}) == 1
    assert tickets_in_database(services) == 1
