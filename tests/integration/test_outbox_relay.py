"""The outbox keeps published rows a week, then forgets them; unsent rows are never lost."""
import socket
from datetime import datetime, timedelta, timezone

import eventlet
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from services.common.clock import ManualClock
from services.common.db import make_engine
from services.common import relay as outbox_relay
from services.common.relay import OutboxRelay
from services.customer.models import Outbox

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def row(name, created_days_ago, sent_days_ago=None):
    created = NOW - timedelta(days=created_days_ago)
    return Outbox(id=name, event_type="customer.created", envelope={}, headers={},
                  created_at=created,
                  sent_at=None if sent_days_ago is None else NOW - timedelta(days=sent_days_ago))


def test_purge_forgets_only_rows_published_over_a_week_ago(databases, rabbit_config):
    engine = make_engine(databases.fresh("customer"))
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as session:
        session.add_all([row("old-sent", 9, 8), row("recent-sent", 2, 1), row("old-unsent", 30)])
        session.commit()
    relay = OutboxRelay(rabbit_config["AMQP_URI"], "customers", factory, Outbox, ManualClock(NOW))
    assert relay.purge_expired() == 1
    with factory() as session:
        assert sorted(session.scalars(select(Outbox.id))) == ["old-unsent", "recent-sent"]
    engine.dispose()


def _published_to(amqp_uri: str, source: str):
    """A queue bound to every event of ``source``; a function counting what it received."""
    from kombu import Connection, Queue
    from nameko.events import get_event_exchange

    connection = Connection(amqp_uri)
    queue = Queue(f"outbox-test-{source}", exchange=get_event_exchange(source, {}),
                  routing_key="#", durable=False, auto_delete=False)
    queue(connection.channel()).declare()

    def received() -> int:
        return queue(connection.channel()).queue_declare(passive=True).message_count
    return received


def stored_rows(databases, prefix: str, count: int):
    """``count`` unsent outbox rows a day old in a fresh database: the engine, a session
    factory and the rows."""
    engine = make_engine(databases.fresh("customer"))
    factory = sessionmaker(engine, expire_on_commit=False)
    rows = [row(f"{prefix}-{n}", 1) for n in range(count)]
    with factory() as session:
        session.add_all(rows)
        session.commit()
    return engine, factory, rows


def fast_path_published(databases, rabbit_config, prefix: str):
    """Three unsent rows a day old (past the relay's grace) that the fast path has just
    published: the engine, a session factory, the relay, and a count of what reached the
    broker."""
    engine, factory, rows = stored_rows(databases, prefix, 3)
    received = _published_to(rabbit_config["AMQP_URI"], "customers")
    relay = OutboxRelay(rabbit_config["AMQP_URI"], "customers", factory, Outbox, ManualClock(NOW))
    relay.publish_committed(rows)
    return engine, factory, relay, received


def unsent(factory) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(Outbox)
                              .where(Outbox.sent_at.is_(None)))


def test_fast_path_rows_are_marked_together_and_not_relayed_again(databases, rabbit_config):
    """Rows the fast path published are marked sent in the relay's next round, before it
    looks for unsent rows, so each is published once."""
    engine, factory, relay, received = fast_path_published(databases, rabbit_config, "fast")
    relay._relay_round()
    assert unsent(factory) == 0
    assert received() == 3
    engine.dispose()


def test_relay_rounds_purge_once_a_minute(databases, rabbit_config, monkeypatch):
    engine = make_engine(databases.fresh("customer"))
    factory = sessionmaker(engine, expire_on_commit=False)
    relay = OutboxRelay(rabbit_config["AMQP_URI"], "customers", factory, Outbox, ManualClock(NOW))

    def expired_rows():
        with factory() as session:
            return session.scalar(select(func.count()).select_from(Outbox)
                                  .where(Outbox.sent_at < NOW - timedelta(days=7)))

    def add_expired(name):
        with factory() as session:
            session.add(row(name, 9, 8))
            session.commit()

    add_expired("first")
    relay._relay_round()
    assert expired_rows() == 0
    add_expired("second")
    relay._relay_round()
    assert expired_rows() == 1  # the last purge was under a minute ago
    monkeypatch.setattr(outbox_relay, "PURGE_EVERY_SECONDS", 0)
    relay._relay_round()
    assert expired_rows() == 0
    engine.dispose()


def test_rows_whose_marking_failed_are_marked_later_not_published_again(databases,
                                                                       rabbit_config):
    """A round that cannot reach the database keeps the fast path's ids and resends nothing;
    the next round marks them, so each row is still published once."""
    engine, factory, relay, received = fast_path_published(databases, rabbit_config, "kept")
    unreachable = make_engine(engine.url.set(database="deskflow_no_such_database")
                              .render_as_string(hide_password=False))
    relay.session_factory = sessionmaker(unreachable)
    relay._relay_round()
    relay.session_factory = factory
    relay._relay_round()
    assert unsent(factory) == 0
    assert received() == 3
    unreachable.dispose()
    engine.dispose()


def test_rows_of_workers_finishing_together_go_out_in_shared_batches(databases, rabbit_config):
    """Twenty workers publishing at once: every row reaches the broker and is marked sent
    once, in fewer batches than workers."""
    engine, factory, rows = stored_rows(databases, "together", 60)
    received = _published_to(rabbit_config["AMQP_URI"], "customers")
    relay = OutboxRelay(rabbit_config["AMQP_URI"], "customers", factory, Outbox, ManualClock(NOW))
    batches = []
    relay.observers.append(batches.append)
    pool = eventlet.GreenPool()
    for n in range(20):
        pool.spawn(relay.publish_committed, rows[3 * n:3 * n + 3])
    pool.waitall()
    relay._relay_round()
    assert unsent(factory) == 0
    assert received() == 60
    assert sum(len(batch) for batch in batches) == 60 and len(batches) < 20
    relay.close()
    engine.dispose()


def test_a_connection_the_broker_dropped_is_opened_again(databases, rabbit_config):
    """The next batch finds the connection cut (a broker restart, say), opens another and
    sends the batch on it."""
    engine, factory, relay, received = fast_path_published(databases, rabbit_config, "cut")
    relay.publisher._connection.connection.transport.sock.shutdown(socket.SHUT_RDWR)
    relay.publish_committed([row("cut-after", 1)])
    assert received() == 4
    relay.close()
    engine.dispose()


def test_an_idle_relay_looks_for_unsent_rows_only_when_some_may_be_there(databases,
                                                                          rabbit_config,
                                                                          monkeypatch):
    """Rows a dead process left are found by the looks from the relay's start until one past
    the grace period finds none; then the relay looks again only every LOOK_EVERY_SECONDS
    (or after a failed fast-path publish), and finds what another process left meanwhile."""
    clock = ManualClock(NOW)
    engine, factory, left = stored_rows(databases, "left", 2)
    received = _published_to(rabbit_config["AMQP_URI"], "customers")
    looks = []
    relay = OutboxRelay(rabbit_config["AMQP_URI"], "customers", factory, Outbox, clock)

    def counted(real=relay.relay_pending):
        looks.append(real())
        return looks[-1]

    relay.relay_pending = counted
    relay._relay_round()
    clock.advance(outbox_relay.RELAY_GRACE_SECONDS)
    relay._relay_round()
    assert looks == [2, 0] and received() == 2  # the suspicion from the start has ended
    relay._relay_round()
    assert looks == [2, 0]  # idle: no query
    with factory() as session:  # another process commits a row it could not publish
        session.add(row("elsewhere", 1))
        session.commit()
    monkeypatch.setattr(outbox_relay, "LOOK_EVERY_SECONDS", 0)
    relay._relay_round()
    assert looks == [2, 0, 1] and received() == 3 and unsent(factory) == 0
    engine.dispose()


def test_a_failed_fast_path_publish_makes_the_relay_look_until_its_rows_are_out(
        databases, rabbit_config):
    clock = ManualClock(NOW)
    engine, factory, rows = stored_rows(databases, "failed", 1)
    relay = OutboxRelay(rabbit_config["AMQP_URI"], "customers", factory, Outbox, clock)
    relay._suspect_since = None  # as after the looks that follow its start
    relay._looked_at = float("inf")

    def broker_gone(batch):
        raise ConnectionError("the broker is restarting")

    relay._send = broker_gone
    relay.publish_committed(rows)
    del relay._send
    received = _published_to(rabbit_config["AMQP_URI"], "customers")
    relay._relay_round()
    assert received() == 1 and unsent(factory) == 0
    engine.dispose()
