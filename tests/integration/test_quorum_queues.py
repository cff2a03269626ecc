"""``AMQP_QUEUE_TYPE=quorum`` on the local broker: a service declares its RPC, event and
command queues and the dead-letter queue as quorum queues (what a RabbitmqCluster replicates)
and works through them, while the RPC reply queues, exclusive or expiring, stay classic."""
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_waiter

from services.customer.service import CustomerService
from tests.support.commands import dead_letters, send_command
from tests.support.customers import customer_payload
from tests.support.services import event, publish
from tests.support.waiting import wait_until


def queue_types(rabbit_manager, vhost) -> dict:
    return {queue["name"]: queue["type"] for queue in rabbit_manager.get_queues(vhost)}


def test_a_service_on_quorum_queues(make_config, container_factory, rabbit_config,
                                    rabbit_manager):
    config = make_config("customer", AMQP_QUEUE_TYPE="quorum")
    service = container_factory(CustomerService, config)
    service.start()

    with ClusterRpcProxy(config, context_data={"actor": "alice"}, timeout=10) as rpc:
        created = rpc.customers.create(customer_payload(name="Quorum Ltd", industry="EDU"))
    with entrypoint_waiter(service, "ticket_activity", timeout=10):
        publish(config["AMQP_URI"], event("ticket.created", {"ticket": {
            "id": f"{created['id']}-001", "customer_id": created["id"]}}))
    with entrypoint_waiter(service, "upsert_command", timeout=10):
        send_command(config["AMQP_URI"], "customer.upsert", {"name": ""})  # refused: invalid
    letters = wait_until(lambda: dead_letters(config["AMQP_URI"], "quorum"), timeout=20)
    assert [letter.headers["x-deskflow-consumer"] for letter in letters] == [
        "customers.upsert_command"]

    types = queue_types(rabbit_manager, rabbit_config["vhost"])
    assert types["rpc-customers"] == "quorum"
    assert types["evt-tickets-ticket.created--customers.ticket_activity"] == "quorum"
    assert types["customers.customer.upsert"] == "quorum"
    assert types["deskflow.dead-letter"] == "quorum"
    replies = {name: kind for name, kind in types.items() if name.startswith("rpc.reply-")}
    assert replies and set(replies.values()) == {"classic"}
