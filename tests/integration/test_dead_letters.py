"""Nothing is dropped, through the real consumers on a real broker (not entrypoint_hook,
which skips the acking, requeueing and dead-lettering): a message that cannot be decoded —
not JSON, a content type other than JSON, larger than MAX_MESSAGE_BYTES — reaches the
dead-letter queue with the reason on every kind of consumer (RPC, events, commands); an
event its handler refuses is dead-lettered; a transient failure is requeued and then
processed."""
import json
import uuid
from collections import Counter

import pytest
from kombu import Exchange
from nameko.events import get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy.exc import OperationalError

from services.common.consumers import COMMAND_EXCHANGE, consume_event
from services.common.events import make_envelope
from services.common.clock import utcnow
from services.customer.service import CustomerService
from tests.support.commands import dead_letters, publish_raw
from tests.support.customers import customer_payload
from tests.support.waiting import wait_until

MAX_MESSAGE_BYTES = 2000


@pytest.fixture
def config(make_config):
    return make_config("customer", MAX_MESSAGE_BYTES=str(MAX_MESSAGE_BYTES))


@pytest.fixture
def service(container_factory, config):
    container = container_factory(CustomerService, config)
    container.start()
    return container


def collect(amqp_uri, expected: int) -> list:
    found = []
    wait_until(lambda: found.extend(dead_letters(amqp_uri)) or len(found) >= expected, timeout=30)
    return found


def test_each_undecodable_kind_is_dead_lettered_on_each_kind_of_consumer(config, service):
    uri = config["AMQP_URI"]
    rpc_exchange = Exchange("nameko-rpc", type="topic", durable=True)
    publish_raw(uri, rpc_exchange, "customers.create", b"{not json", "application/json",
                {"nameko.request_id": "req-bad-json"})
    publish_raw(uri, get_event_exchange("tickets", {}), "ticket.created",
                json.dumps({"id": "x"}).encode(), "text/plain")
    publish_raw(uri, COMMAND_EXCHANGE, "customer.upsert",
                json.dumps({"padding": "x" * MAX_MESSAGE_BYTES}).encode(), "application/json")
    letters = {message.headers["x-deskflow-consumer"]: message for message in collect(uri, 3)}
    assert set(letters) == {"customers.rpc", "customers.ticket_activity",
                            "customers.upsert_command"}
    rpc_letter = letters["customers.rpc"]
    assert rpc_letter.headers["x-deskflow-reason"].startswith("not JSON")
    assert rpc_letter.headers["x-deskflow-routing-key"] == "customers.create"
    assert rpc_letter.headers["nameko.request_id"] == "req-bad-json"  # the original headers
    # the body as it came (kombu hands utf-8 text over decoded)
    assert rpc_letter.body in ("{not json", b"{not json")
    assert letters["customers.ticket_activity"].headers["x-deskflow-reason"].startswith(
        "wrong content type: 'text/plain'")
    assert letters["customers.upsert_command"].headers["x-deskflow-reason"].startswith("oversized")
    for letter in letters.values():
        assert letter.headers["x-deskflow-first-seen"] and letter.headers["x-deskflow-id"]
    with ClusterRpcProxy(config, timeout=10) as rpc:  # the consumers are still there
        assert rpc.customers.create(customer_payload(name="Still Serving"))["id"]


def test_an_event_its_handler_refuses_is_dead_lettered_with_the_reason(config, service):
    envelope = make_envelope("ticket.created", {"ticket": {"no": "customer id"}}, "tickets",
                             "req-1", utcnow())
    publish_raw(config["AMQP_URI"], get_event_exchange("tickets", {}), "ticket.created",
                json.dumps(envelope).encode(), "application/json")
    [letter] = collect(config["AMQP_URI"], 1)
    assert letter.headers["x-deskflow-consumer"] == "customers.ticket_activity"
    assert letter.headers["x-deskflow-routing-key"] == "ticket.created"
    assert "customer_id" in letter.headers["x-deskflow-reason"]
    assert letter.payload == envelope


class Flaky:
    """Fails with a database outage the first time it sees an event, then takes it."""

    name = "flaky"
    attempts = []
    done = []

    @consume_event("tickets", "ticket.commented")
    def on_comment(self, envelope):
        Flaky.attempts.append(envelope["id"])
        if Flaky.attempts.count(envelope["id"]) == 1:
            raise OperationalError("SELECT 1", {}, Exception("the database is restarting"))
        Flaky.done.append(envelope["id"])


def test_a_transient_failure_is_requeued_and_then_processed(container_factory, config):
    Flaky.attempts, Flaky.done = [], []
    container_factory(Flaky, config).start()
    event_id = str(uuid.uuid4())
    publish_raw(config["AMQP_URI"], get_event_exchange("tickets", {}), "ticket.commented",
                json.dumps({"id": event_id}).encode(), "application/json")
    wait_until(lambda: Flaky.done, timeout=30)
    assert Flaky.attempts == [event_id, event_id]
    assert Flaky.done == [event_id]
    assert dead_letters(config["AMQP_URI"]) == []


class NeverAvailable:
    """A consumer whose database never comes back; ``replica`` tells its containers apart."""

    name = "never_available"
    replica = None
    tries = []  # (event id, replica)

    @consume_event("tickets", "ticket.held")
    def on_held(self, envelope):
        NeverAvailable.tries.append((envelope["id"], self.replica))
        raise OperationalError("SELECT 1", {}, Exception("the database is gone"))


class FirstReplica(NeverAvailable):
    replica = "first"


class SecondReplica(NeverAvailable):
    replica = "second"


def test_two_replicas_share_one_bound_on_the_attempts(container_factory, config):
    """Two containers compete on one queue: a message's tries are counted on the message,
    so it is dead-lettered after CONSUMER_MAX_ATTEMPTS tries in all, not that many each."""
    NeverAvailable.tries = []
    limits = {"CONSUMER_MAX_ATTEMPTS": 3, "CONSUMER_RETRY_PAUSE_SECONDS": 0.05}
    for replica in (FirstReplica, SecondReplica):
        container_factory(replica, {**config, **limits}).start()
    events = [str(uuid.uuid4()) for _ in range(12)]
    for event_id in events:
        publish_raw(config["AMQP_URI"], get_event_exchange("tickets", {}), "ticket.held",
                    json.dumps({"id": event_id}).encode(), "application/json")
    letters = collect(config["AMQP_URI"], len(events))
    assert sorted(letter.payload["id"] for letter in letters) == sorted(events)
    for letter in letters:
        assert letter.headers["x-deskflow-reason"].startswith("gave up after 3 attempts: ")
        assert letter.headers["x-deskflow-routing-key"] == "ticket.held"
    tries = Counter(event_id for event_id, _ in NeverAvailable.tries)
    assert tries == {event_id: 3 for event_id in events}
    assert {replica for _, replica in NeverAvailable.tries} == {"first", "second"}
