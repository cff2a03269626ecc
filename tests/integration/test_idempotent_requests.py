"""A write RPC reaching a service twice under one idempotency key (a client retry, RabbitMQ
redelivering the request after a broker-side requeue, two copies running at once) changes
the data once and answers the repeat with the first answer."""
import socket
from datetime import datetime, timezone

import pytest
from nameko.rpc import RpcConsumer
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import sessionmaker

from services.common.clock import ManualClock
from services.common.context import CallContext
from services.common.db import make_engine
from services.common.errors import Duplicate
from services.common.outbox import UnitOfWork
from services.customer import customers, models
from tests.integration.test_customer_service import config, service  # noqa: F401 (fixtures)
from tests.support.customers import customer_payload
from tests.support.waiting import wait_until


def rows(config, sql):
    engine = create_engine(config["DESKFLOW_SETTINGS"].database_url("customer"))
    found = rows_of(engine, sql)
    engine.dispose()
    return found


def events(config, event_type: str) -> int:
    return rows(config, f"SELECT count(*) FROM outbox WHERE event_type = '{event_type}'")[0][0]


def client(config, key):
    return ClusterRpcProxy(config, timeout=30,
                           context_data={"actor": "alice", "idempotency_key": key})


def test_a_repeat_gets_the_first_answer_and_changes_nothing(config, service):
    body = customer_payload(name="Once Only Co")
    with client(config, "key-one") as rpc:
        first = rpc.customers.create(body)
        again = rpc.customers.create(body)
        renamed = rpc.customers.update(first["id"], {"grade": "A"})
    with client(config, "key-two") as rpc:
        with pytest.raises(Duplicate):  # another request: the duplicate rule applies
            rpc.customers.create(customer_payload(name="Once Only Co"))
    assert again == first
    assert renamed["grade"] == "A"
    assert rows(config, "SELECT count(*) FROM customers") == [(1,)]
    assert events(config, "customer.created") == 1
    assert sorted(rows(config, "SELECT operation FROM processed_requests")) == [
        ("customers.create",), ("customers.update",)]


def test_a_read_or_a_refused_write_records_nothing(config, service):
    with client(config, "key-three") as rpc:
        rpc.customers.list({})
        with pytest.raises(Exception):
            rpc.customers.create(customer_payload(name=""))
    assert rows(config, "SELECT count(*) FROM processed_requests") == [(0,)]


def test_concurrent_copies_under_one_key_make_one_customer(config, service):
    body = customer_payload(name="Racing Co")
    with client(config, "racing-key") as rpc:
        pending = [rpc.customers.create.call_async(body) for _ in range(5)]
        made = [reply.result() for reply in pending]
    assert len({customer["id"] for customer in made}) == 1
    assert rows(config, "SELECT count(*) FROM customers") == [(1,)]


def test_a_request_the_broker_redelivers_after_the_ack_was_lost_takes_effect_once(
        config, service):
    """The first delivery commits and replies, then its connection drops before the ack:
    RabbitMQ requeues the request and delivers it again, and the service answers the copy
    from what it remembered."""
    consumer = next(extension for extension in service.extensions
                    if isinstance(extension, RpcConsumer)).queue_consumer
    deliveries = []
    real_ack = consumer.ack_message

    def lose_first_ack(message):
        if message.delivery_info["routing_key"] != "customers.log_followup":
            return real_ack(message)
        deliveries.append(message.delivery_info["redelivered"])
        if len(deliveries) == 1:  # the connection drops: the ack never reaches the broker
            message.channel.connection.sock.shutdown(socket.SHUT_RDWR)
            return
        return real_ack(message)

    with client(config, "customer-key") as rpc:
        customer = rpc.customers.create(customer_payload(name="Redelivered Co"))
    consumer.ack_message = lose_first_ack
    with client(config, "followup-key") as rpc:  # no natural key: only the request's protects it
        logged = rpc.customers.log_followup(customer["id"], {
            "at": "2026-11-20T10:00:00+00:00", "channel": "phone", "subject": "Call",
            "outcome": "positive"})
        wait_until(lambda: len(deliveries) >= 2, timeout=60)
    assert deliveries == [False, True]  # the second delivery is the broker's redelivery
    assert rows(config, "SELECT id FROM followups") == [(logged["id"],)]
    assert events(config, "followup.logged") == 1


def test_a_create_writes_its_rows_and_answer_in_one_statement(databases):
    """A create that gives :meth:`UnitOfWork.commit` its answer writes the customer, its
    change-log entry, its event and the answer in one statement after the one that numbers
    it; a repeat still gets the first answer and another request's duplicate a 409."""
    engine = make_engine(databases.fresh("customer"))
    statements = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cursor, sql, *_rest: statements.append(sql.split()[0]))

    def create(key, body):
        uow = UnitOfWork(sessionmaker(engine, expire_on_commit=False), models, "customers",
                         CallContext("req-1", "alice", "admin", idempotency_key=key),
                         ManualClock(datetime(2026, 11, 2, tzinfo=timezone.utc)))
        try:
            return uow.once("customers.create", lambda: customers.create_customer(uow, body))
        finally:
            uow.close()

    body = customer_payload(name="One Statement Co")
    first = create("key-a", body)
    assert statements == ["INSERT", "WITH"]
    assert create("key-a", body) == first
    with pytest.raises(Duplicate):
        create("key-b", body)
    assert rows_of(engine, "SELECT count(*) FROM outbox") == [(1,)]
    engine.dispose()


def rows_of(engine, sql):
    with engine.connect() as connection:
        return connection.execute(text(sql)).all()
