"""Pooled PostgreSQL connections: one that sat idle is pinged before it is handed out, and
replaced when the server has cut it; a busy one is handed out without that round trip."""
from datetime import timedelta

import eventlet
import pytest
from psycopg import waiting
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from gateway.idempotency import Answer, IdempotencyStore
from services.common import db
from services.common.clock import SystemClock
from services.common.errors import InProgress


def _held_pids(engine, count: int) -> list[int]:
    """Check out ``count`` connections at once; their backend pids."""
    connections = [engine.connect() for _ in range(count)]
    try:
        return [connection.execute(text("SELECT pg_backend_pid()")).scalar()
                for connection in connections]
    finally:
        for connection in connections:
            connection.close()


def _counting_pings(engine, monkeypatch) -> list:
    pings, ping = [], engine.dialect.do_ping

    def counted(dbapi_connection):
        pings.append(dbapi_connection)
        return ping(dbapi_connection)
    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def test_an_idle_connection_the_server_cut_is_replaced(databases, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    engine = db.make_engine(databases.fresh("customer"))
    try:
        first, second = _held_pids(engine, 2)
        with engine.connect() as connection:
            victim = first if connection.execute(text("SELECT pg_backend_pid()")).scalar() \
                != first else second
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": victim})
            connection.commit()
        pings = _counting_pings(engine, monkeypatch)
        assert victim not in _held_pids(engine, 2)
        assert pings
    finally:
        engine.dispose()


def test_a_busy_connection_is_handed_out_without_a_ping(databases, monkeypatch):
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 60.0)
    engine = db.make_engine(databases.fresh("customer"))
    try:
        pings = _counting_pings(engine, monkeypatch)
        (first,) = _held_pids(engine, 1)
        assert _held_pids(engine, 1) == [first]
        assert pings == []
    finally:
        engine.dispose()


def test_a_single_statement_engine_runs_each_statement_on_its_own(databases):
    """No transaction around them on PostgreSQL (two statements see two start times), and
    the gateway's idempotency store, which uses it, still claims, waits and replays."""
    engine = db.make_engine(databases.fresh("gateway"))
    try:
        with db.single_statement_engine(engine).connect() as connection:
            first = connection.execute(text("SELECT now()")).scalar()
            second = connection.execute(text("SELECT now()")).scalar()
        assert first != second
        store = IdempotencyStore(db.single_statement_engine(engine).connect, SystemClock(),
                                 abandoned_after=timedelta(minutes=1), wait_seconds=0.1)
        assert store.claim("alice", "key-00001", "hash-a") is None
        with pytest.raises(InProgress):
            store.claim("alice", "key-00001", "hash-a")
        answer = Answer(201, '{"id": "x"}', {"Content-Type": "application/json"})
        store.finish("alice", "key-00001", answer)
        assert store.claim("alice", "key-00001", "hash-a") == answer
    finally:
        engine.dispose()



def test_a_query_waits_in_the_event_loop_and_a_cut_connection_fails_cleanly(databases,
                                                                            monkeypatch):
    """:func:`db.wait_green`: another greenlet runs while a query waits, and a connection the
    server ends mid-query raises the error that makes a consumer retry."""
    monkeypatch.setattr(waiting, "wait", db.wait_green)
    engine = db.make_engine(databases.fresh("customer"))

    def terminate(pid):
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})

    try:
        ticker = eventlet.spawn(lambda: [eventlet.sleep(0.02) for _ in range(5)])
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(0.3)"))
            assert ticker.dead  # it ran while the query waited
            big = "x" * 8_000_000  # sent in several writes: waits to read and write at once
            assert connection.execute(text("SELECT length(:big)"), {"big": big}).scalar() == len(big)
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
            killer = eventlet.spawn_after(0.2, terminate, pid)
            with pytest.raises(OperationalError):
                connection.execute(text("SELECT pg_sleep(5)"))
            killer.wait()
    finally:
        engine.dispose()
