"""Each service's own ``/metrics`` (services/common/metrics.py), scraped over HTTP from real
containers on a throwaway vhost and fresh PostgreSQL databases: handler latency and outcome
per entrypoint, events consumed and published, dead letters, the outbox backlog and the
depth of the service's queues, and the ticket service's business figures, read by the
refresh round rather than at the scrape."""
import pytest
import requests
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from services.common.errors import NotFound
from services.common.metrics import metrics_of
from services.common.queues import DEAD_LETTER_QUEUE
from services.customer.service import CustomerService
from services.ticket.service import TicketService
from tests.support.customers import customer_payload
from tests.support.services import event, publish
from tests.support.stack import free_port
from tests.support.waiting import wait_until


def samples(port: int) -> dict:
    """``{(name, frozenset(labels)): value}`` of one scrape."""
    response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert response.status_code == 200
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples}


def value(port: int, name: str, **labels) -> float | None:
    return samples(port).get((name, frozenset(labels.items())))


@pytest.fixture
def customer_port():
    return free_port()


@pytest.fixture
def config(make_config, customer_port):
    return make_config("customer", CUSTOMER_METRICS_PORT=str(customer_port),
                       METRICS_REFRESH_SECONDS="0.2")


@pytest.fixture
def customers(container_factory, config):
    container = container_factory(CustomerService, config)
    container.start()
    return container


def test_handlers_events_outbox_and_queues_are_measured(config, customers, customer_port):
    with ClusterRpcProxy(config, context_data={"actor": "alice"}, timeout=10) as rpc:
        created = rpc.customers.create(customer_payload(name="Measured Ltd", industry="EDU"))
        with pytest.raises(NotFound):
            rpc.customers.get("2026-EDU-999")
    with entrypoint_waiter(customers, "ticket_activity", timeout=10):
        publish(config["AMQP_URI"], event("ticket.created", {"ticket": {
            "id": f"{created['id']}-001", "customer_id": created["id"]}}))

    rpc_queue = frozenset({("service", "customers"), ("queue", "rpc-customers")})
    wanted = {
        ("deskflow_handler_duration_seconds_count",
         frozenset({("service", "customers"), ("entrypoint", "create"), ("outcome", "ok")})): 1,
        ("deskflow_handler_duration_seconds_count",
         frozenset({("service", "customers"), ("entrypoint", "get"), ("outcome", "refused")})): 1,
        ("deskflow_events_consumed_total", frozenset(
            {("service", "customers"), ("source", "tickets"), ("type", "ticket.created")})): 1,
        ("deskflow_events_published_total",
         frozenset({("service", "customers"), ("type", "customer.created")})): 1,
        # once everything is handled: nothing unsent, nothing waiting, one consumer
        ("deskflow_outbox_unsent", frozenset({("service", "customers")})): 0,
        ("deskflow_outbox_oldest_unsent_age_seconds", frozenset({("service", "customers")})): 0,
        ("deskflow_queue_messages", rpc_queue): 0,
        ("deskflow_queue_consumers", rpc_queue): 1,
    }

    def measured():
        found = samples(customer_port)
        return found if all(found.get(key) == number for key, number in wanted.items()) else None

    found = wait_until(measured, timeout=20, message="the calls and events are not all counted")
    health = requests.get(f"http://127.0.0.1:{customer_port}/healthz", timeout=10)
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert not [key for key in found if key[0] == "deskflow_handler_errors_total"]


def test_a_queue_not_declared_yet_costs_no_channel_per_round(customers, customer_port):
    # Nothing was dead-lettered, so the dead-letter queue does not exist and every refresh
    # round finds it missing: the rounds go on using one channel, however many run.
    metrics = metrics_of(customers)
    assert DEAD_LETTER_QUEUE.name in metrics.queues

    def refreshed():
        return value(customer_port, "deskflow_metrics_refreshed_timestamp_seconds",
                     service="customers")
    first = wait_until(refreshed, message="no refresh round ran")
    wait_until(lambda: refreshed() >= first + 2, message="the rounds stopped")  # ~10 rounds
    amqp = metrics.connection.connection
    assert [number for number, channel in amqp.channels.items()
            if number and channel.is_open] == [metrics.channel.channel_id]


def test_a_failing_handler_counts_as_an_error_and_its_dead_letter(config, customers,
                                                                   customer_port):
    broken = event("ticket.created", {"ticket": "not an object"})
    with entrypoint_waiter(customers, "ticket_activity", timeout=10):
        publish(config["AMQP_URI"], broken)
    wait_until(lambda: value(customer_port, "deskflow_dead_lettered_total", service="customers",
                             consumer="customers.ticket_activity") == 1,
               timeout=20, message="the dead letter is not counted")
    errors = {labels: number for (name, labels), number in samples(customer_port).items()
              if name == "deskflow_handler_errors_total"}
    assert [dict(labels)["entrypoint"] for labels in errors] == ["ticket_activity"]


def test_an_unsent_outbox_row_shows_as_backlog_and_age(make_config, container_factory,
                                                       customer_port):
    # The relay waits an hour before its first round: the row stays unsent.
    config = make_config("customer", CUSTOMER_METRICS_PORT=str(customer_port),
                         METRICS_REFRESH_SECONDS="0.2", OUTBOX_RELAY_SECONDS="3600")
    container_factory(CustomerService, config).start()
    engine = create_engine(config["DESKFLOW_SETTINGS"].database_url("customer"))
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO outbox (id, event_type, envelope, headers, created_at) VALUES "
            "('00000000-0000-0000-0000-000000000001', 'customer.test', '{}', '{}', "
            "now() - interval '10 minutes')"))
    engine.dispose()
    wait_until(lambda: (value(customer_port, "deskflow_outbox_oldest_unsent_age_seconds",
                              service="customers") or 0) >= 600,
               timeout=20, message="the stuck row is not seen")
    assert value(customer_port, "deskflow_outbox_unsent", service="customers") == 1


def test_ticket_figures_come_from_the_refresh_round(make_config, container_factory):
    port = free_port()
    config = make_config("customer", "ticket", TICKET_METRICS_PORT=str(port),
                         METRICS_REFRESH_SECONDS="0.2")
    for service in (CustomerService, TicketService):
        container_factory(service, config).start()
    with ClusterRpcProxy(config, context_data={"actor": "alice"}, timeout=10) as rpc:
        customer = rpc.customers.create(customer_payload(name="Ticketed Ltd", industry="EDU"))
        rpc.tickets.create({"customer_id": customer["id"], "service_type": "aftersales",
                            "category": "inquiry", "priority": "medium", "title": "Help"})
    wait_until(lambda: value(port, "deskflow_tickets", state="pending") == 1, timeout=20,
               message="the new ticket is not counted")
    found = samples(port)
    assert found[("deskflow_sla_clocks", frozenset({("clock", "first_response"),
                                                    ("status", "running")}))] == 1
    assert found[("deskflow_sla_breaches_total", frozenset({("clock", "first_response")}))] == 0
    assert found[("deskflow_sla_cycles_total", frozenset({("clock", "first_response")}))] == 1
    assert found[("deskflow_open_tickets_older_than", frozenset({("band", "1h")}))] == 0
    assert found[("deskflow_oldest_open_ticket_age_seconds", frozenset())] < 3600
