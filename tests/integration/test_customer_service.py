"""The customer service in a real Nameko container, on a throwaway RabbitMQ vhost and a
fresh PostgreSQL database."""
import eventlet
import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook, entrypoint_waiter
from sqlalchemy import create_engine, func, select, text

from services.common.consumers import consume_event
from services.common import relay
from services.common.errors import Duplicate, NotFound, ValidationFailed
from services.customer.models import Outbox
from services.customer.service import CustomerService
from tests.support.customers import customer_payload
from tests.support.waiting import wait_until


class Listener:
    """Receives customer events the way any other service would."""

    name = "listener"
    received = []

    @consume_event("customers", "customer.created")
    def on_created(self, envelope):
        self.received.append(envelope)


@pytest.fixture
def config(make_config):
    return make_config("customer")


@pytest.fixture
def service(container_factory, config):
    container = container_factory(CustomerService, config)
    container.start()
    return container


def database_url(config):
    return config["DESKFLOW_SETTINGS"].database_url("customer")


def call(config, method, *args, actor="alice"):
    with ClusterRpcProxy(config, context_data={"actor": actor, "request_id": "req-1"},
                         timeout=10) as rpc:
        return getattr(rpc.customers, method)(*args)


def test_created_customer_reaches_other_services_as_an_event(container_factory, config, service):
    Listener.received = []
    listener = container_factory(Listener, config)
    listener.start()
    with entrypoint_waiter(listener, "on_created", timeout=10):
        created = call(config, "create", customer_payload(name="Evented Ltd", industry="EDU"))
    envelope = Listener.received[0]
    assert envelope["type"] == "customer.created"
    assert envelope["source"] == "customers"
    assert envelope["request_id"] == "req-1"
    assert envelope["data"]["customer"] == created


def test_refused_duplicate_writes_nothing_and_emits_nothing(config, service):
    first = call(config, "create", customer_payload(name="Only Once", phone="13800000001"))
    with pytest.raises(Duplicate) as error:
        call(config, "create", customer_payload(name="Someone Else", phone="138 0000 0001"))
    assert error.value.details["existing_id"] == first["id"]
    engine = create_engine(database_url(config))
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(Outbox)) == 1
        assert connection.scalar(text("SELECT count(*) FROM customers")) == 1
    engine.dispose()


def test_change_log_records_who_when_and_each_field(config, service):
    created = call(config, "create", customer_payload(name="Logged Co", phone=None,
                                                      office_phone="010-6666-0001"), actor="alice")
    call(config, "update", created["id"], {"grade": "A", "phone": "13900000002"}, actor="bob")
    history = call(config, "history", created["id"])
    assert [entry["by"] for entry in history] == ["bob", "alice"]
    assert history[0]["changes"] == [
        {"field": "phone", "before": None, "after": "13900000002"},
        {"field": "grade", "before": "C", "after": "A"},
    ]
    assert history[0]["at"] >= history[1]["at"]


def test_deleted_customer_is_gone_and_frees_its_name(config, service):
    created = call(config, "create", customer_payload(name="Short Lived", industry="GOV"))
    call(config, "delete", created["id"])
    with pytest.raises(NotFound):
        call(config, "get", created["id"])
    again = call(config, "create", customer_payload(name="short  lived", industry="GOV"))
    assert again["id"] != created["id"]


def test_conversion_to_deal_needs_the_deal_fields(config, service):
    created = call(config, "create", customer_payload(name="Converting", industry="FIN"))
    with pytest.raises(ValidationFailed) as error:
        call(config, "update", created["id"], {"type": "deal"})
    assert set(error.value.details["fields"]) == {"deal_amount", "deal_product", "signed_date"}
    deal = call(config, "update", created["id"], {"type": "deal", "deal_amount": "150000",
                                                  "deal_product": "Support plan",
                                                  "signed_date": "2026-11-01"})
    assert (deal["type"], deal["value_tier"]) == ("deal", "mid")


def test_ids_are_unique_and_consecutive_across_two_service_instances(container_factory, config):
    for _ in range(2):
        container_factory(CustomerService, config).start()
    pool = eventlet.GreenPool(20)
    ids = list(pool.imap(lambda n: call(config, "create", customer_payload(
        name=f"Parallel {n}", industry="MFG"))["id"], range(20)))
    sequences = sorted(int(customer_id.rsplit("-", 1)[1]) for customer_id in ids)
    assert sequences == list(range(1, 21))


def test_a_racing_duplicate_is_refused_by_the_database(container_factory, config):
    for _ in range(2):
        container_factory(CustomerService, config).start()
    pool = eventlet.GreenPool(10)

    def attempt(_):
        try:
            return call(config, "create", customer_payload(name="Race Winner"))["id"]
        except Duplicate as error:
            return error

    outcomes = list(pool.imap(attempt, range(10)))
    winners = [outcome for outcome in outcomes if isinstance(outcome, str)]
    assert len(winners) == 1
    assert all(outcome.details["existing_id"] == winners[0]
               for outcome in outcomes if isinstance(outcome, Duplicate))


def test_unsent_outbox_rows_are_relayed(container_factory, config, service, monkeypatch):
    """A crash between commit and publish leaves a row unsent; the relay publishes it (here
    by its periodic look, made every round for the test, as for rows another process
    left)."""
    monkeypatch.setattr(relay, "LOOK_EVERY_SECONDS", 0)
    created = call(config, "create", customer_payload(name="Crashed Before Publish"))
    Listener.received = []
    listener = container_factory(Listener, config)
    listener.start()
    engine = create_engine(database_url(config))

    def all_sent():
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(Outbox)
                                     .where(Outbox.sent_at.is_(None))) == 0

    # The fast path published the row; the relay's round marks it sent.
    wait_until(all_sent, message="the relay marks what the fast path published as sent")
    with entrypoint_waiter(listener, "on_created", timeout=15):
        with engine.begin() as connection:
            connection.execute(Outbox.__table__.update().values(sent_at=None))
    assert Listener.received[0]["data"]["customer"]["id"] == created["id"]
    wait_until(all_sent, message="the relay marks what it published as sent")
    engine.dispose()


def test_invalid_input_over_rpc_names_each_field(config, service):
    with pytest.raises(ValidationFailed) as error:
        call(config, "create", customer_payload(name="", industry="SPACE", email="nope", extra=1))
    assert set(error.value.details["fields"]) == {"name", "industry", "email", "extra"}


def test_entrypoint_hook_sees_the_acting_user(service):
    with entrypoint_hook(service, "create", context_data={"actor": "carol"}) as create:
        customer = create(customer_payload(name="Owned By Carol", industry="TECH"))
    assert customer["owner"] == "carol"
