"""The broker is a boundary (README, "Trust on the broker"): the definitions in deploy/ give
another system's `integration` user commands in and events out, and nothing else; a service
publishes its own events only. Applied to the real broker on a throwaway vhost."""
import json
import uuid

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue

from gateway.rpc import RpcPool
from services.common.config import load_settings
from services.common.context import ACTOR, ACTOR_ROLE, REQUEST_ID
from services.customer.service import CustomerService
from services.notification.service import NotificationService
from services.reporting.service import ReportingService
from services.ticket.service import TicketService
from tests.support.broker_users import deployed_broker
from tests.support.customers import customer_payload
from tests.support.waiting import wait_until


@pytest.fixture
def broker(rabbit_manager):
    with deployed_broker(rabbit_manager) as deployed:
        yield deployed


def publish(uri: str, exchange: str, routing_key: str, body: dict) -> None:
    """Publish and wait for the broker's confirmation (a refusal raises)."""
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        producer.publish(body, exchange=exchange, routing_key=routing_key, serializer="json",
                         retry=False)


def take(uri: str, queue: Queue) -> list:
    with Connection(uri) as connection:
        bound = queue(connection.default_channel)
        messages = []
        while (message := bound.get(no_ack=True)) is not None:
            messages.append(json.loads(message.body))
        return messages


def declare(uri: str, queue: Queue) -> None:
    with Connection(uri) as connection:
        queue(connection.default_channel).declare()


def event(event_type: str) -> dict:
    return {"id": str(uuid.uuid4()), "type": event_type, "data": {}}


def test_the_integration_user_may_not_publish_events_or_rpc(broker):
    integration = broker.uri("integration")
    for exchange, routing_key in (("tickets.events", "ticket.created"),
                                  ("customers.events", "customer.created"),
                                  ("nameko-rpc", "customers.create"),
                                  ("", "rpc-customers"),  # the default exchange
                                  ("deskflow.dead-letter", "x")):
        with pytest.raises(AccessRefused):
            publish(integration, exchange, routing_key, event("ticket.created"))


def test_the_integration_user_may_send_commands_the_services_consume(broker, rabbit_manager):
    commands = Exchange("deskflow.commands", type="topic", durable=True)
    # the queue the customer service declares for its command (as that service's user)
    service_queue = Queue("customers.customer.upsert", exchange=commands,
                          routing_key="customer.upsert", durable=True)
    declare(broker.uri("deskflow-customers"), service_queue)
    command = {"id": str(uuid.uuid4()), "type": "customer.upsert",
               "data": customer_payload(name="From the ERP")}
    publish(broker.uri("integration"), "deskflow.commands", "customer.upsert", command)
    assert take(broker.uri("deskflow-customers"), service_queue) == [command]
    with pytest.raises(AccessRefused):  # not a command type of the contract
        publish(broker.uri("integration"), "deskflow.commands", "user.create", command)


def test_the_integration_user_reads_events_from_its_own_queues_only(broker):
    integration, tickets = broker.uri("integration"), broker.uri("deskflow-tickets")
    # The exchange is the service's: the integration checks it exists (a passive declare)
    events = Exchange("tickets.events", type="topic", durable=True, passive=True)
    mine = Queue("integration.erp-tickets", exchange=events, routing_key="ticket.#", durable=True)
    declare(integration, mine)
    created = event("ticket.created")
    publish(tickets, "tickets.events", "ticket.created", created)
    assert take(integration, mine) == [created]

    for foreign in (Queue("rpc-customers", durable=True),
                    Queue("evt-tickets-ticket.created--notifications.handle_event", durable=True),
                    Queue("erp-tickets", exchange=events, routing_key="#", durable=True)):
        with pytest.raises(AccessRefused):
            declare(integration, foreign)
    with pytest.raises(AccessRefused):  # the dead letters are the operators'
        take(integration, Queue("deskflow.dead-letter", durable=True))


def test_a_service_publishes_its_own_events_only(broker):
    with pytest.raises(AccessRefused):
        publish(broker.uri("deskflow-customers"), "tickets.events", "ticket.created",
                event("ticket.created"))
    with pytest.raises(AccessRefused):
        publish(broker.uri("deskflow-reporting"), "deskflow.commands", "ticket.create",
                event("ticket.create"))
    publish(broker.uri("deskflow-customers"), "customers.events", "customer.created",
            event("customer.created"))


def test_the_gateway_reads_the_dead_letters_and_replays_them_but_forges_no_event(broker):
    """The admin API (gateway/dead_letters.py) runs as the gateway's user."""
    gateway = broker.uri("deskflow-gateway")
    letters = Queue("deskflow.dead-letter", exchange=Exchange("deskflow.dead-letter", type="topic",
                                                              durable=True),
                    routing_key="#", durable=True)
    declare(gateway, letters)
    publish(broker.uri("deskflow-customers"), "deskflow.dead-letter", "customer.upsert", {"n": 1})
    declare(broker.uri("deskflow-customers"), Queue("customers.customer.upsert", durable=True))
    assert take(gateway, letters) == [{"n": 1}]
    publish(gateway, "", "customers.customer.upsert", {"n": 1})  # a replay
    assert take(broker.uri("deskflow-customers"), Queue("customers.customer.upsert",
                                                        durable=True)) == [{"n": 1}]
    with pytest.raises(AccessRefused):
        publish(gateway, "tickets.events", "ticket.created", event("ticket.created"))


def test_the_throwaway_users_are_removed_afterwards(rabbit_manager):
    with deployed_broker(rabbit_manager) as deployed:
        made = set(deployed.names.values())
        assert made <= {user["name"] for user in rabbit_manager._get("users")}
    assert not made & {user["name"] for user in rabbit_manager._get("users")}
    assert "guest" in {user["name"] for user in rabbit_manager._get("users")}


def test_every_service_works_as_its_own_user(broker, container_factory, databases, tmp_path):
    """The four services, each connected as its own user, and the gateway's RPC client as
    the gateway's: RPC calls (gateway → customers, tickets → customers), events between
    services, a command from the integration user and dead letters all go through."""
    def start(service_class, database, user):
        settings = load_settings({"AMQP_URI": broker.uri(user), "DATA_DIR": str(tmp_path),
                                  "OUTBOX_RELAY_SECONDS": "0.2",
                                  f"{database.upper()}_DATABASE_URL": databases.fresh(database)})
        container = container_factory(service_class, settings.nameko_config())
        container.start()

    start(CustomerService, "customer", "deskflow-customers")
    start(TicketService, "ticket", "deskflow-tickets")
    start(NotificationService, "notification", "deskflow-notifications")
    start(ReportingService, "reporting", "deskflow-reporting")
    gateway = RpcPool(broker.uri("deskflow-gateway"), 1, 20)
    context = {ACTOR: "admin", ACTOR_ROLE: "admin", REQUEST_ID: uuid.uuid4().hex}
    try:
        customer = gateway.call("customers", "create", customer_payload(name="Own User Co"),
                                context=context)
        ticket = gateway.call("tickets", "create", {  # the ticket service asks customers
            "customer_id": customer["id"], "service_type": "aftersales", "category": "complaint",
            "title": "Printer offline", "owner": "lina"}, context=context)
        publish(broker.uri("integration"), "deskflow.commands", "customer.upsert", {
            "id": str(uuid.uuid4()), "type": "customer.upsert",
            "data": customer_payload(name="From the ERP Co", industry="RETAIL")})
        publish(broker.uri("integration"), "deskflow.commands", "customer.upsert", {
            "id": str(uuid.uuid4()), "type": "customer.upsert", "data": {"name": ""}})

        # events reached the reporting read model and the customer's activity
        wait_until(lambda: gateway.call("reporting", "summary", {}, context=context)
                   ["customers"]["total"] == 2, timeout=60)
        assert gateway.call("reporting", "summary", {}, context=context)["tickets"]["created"] == 1
        wait_until(lambda: gateway.call("customers", "get", customer["id"], context=context)
                   ["last_activity_at"] != customer["last_activity_at"], timeout=60)
        assert ticket["customer_id"] == customer["id"]
        # the notification service got the ticket event: the owner's inbox has it
        lina = {**context, ACTOR: "lina", ACTOR_ROLE: "support"}
        wait_until(lambda: gateway.call("notifications", "inbox", {}, context=lina)["total"],
                   timeout=60)
        # the malformed command was dead-lettered by the customer service's user
        dead = wait_until(lambda: take(broker.uri("deskflow-customers"),
                                       Queue("deskflow.dead-letter", durable=True)), timeout=60)
        assert dead[0]["type"] == "customer.upsert"
    finally:
        gateway.close()
