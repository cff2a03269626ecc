"""SQLite's write lock under eventlet: greenlets of one process queue for it without polling,
another process holding it is waited for without blocking the process, and a session of
single statements reads without taking it."""
import sqlite3

import eventlet
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from services.common import sqlite as sqlite_engines
from services.common.db import make_engine, next_sequence, single_statement_engine

METADATA = MetaData()
COUNTERS = Table("sequence_counters", METADATA, Column("scope", String(80), primary_key=True),
                 Column("value", Integer))


class Counter:
    __table__ = COUNTERS


@pytest.fixture
def path(tmp_path):
    return tmp_path / "service.db"


@pytest.fixture
def statements():
    """Every statement the engine's connections run, as SQLite traces them."""
    return []


@pytest.fixture
def engine(path, statements):
    engine = make_engine(f"sqlite:///{path}")
    event.listen(engine, "connect",
                 lambda connection, _record: connection.set_trace_callback(statements.append))
    METADATA.create_all(engine)
    statements.clear()
    yield engine
    engine.dispose()


def begins(statements) -> int:
    """How many times a transaction asked for the write lock (a retry counts again)."""
    return statements.count("BEGIN IMMEDIATE")


def advance(engine, scope="2026-TECH"):
    with sessionmaker(engine)() as session:
        value = next_sequence(session, Counter, scope)
        eventlet.sleep(0)  # let the other greenlets run while the write lock is held
        session.commit()
        return value


def value_of(session, scope):
    return session.scalar(select(COUNTERS.c.value).where(COUNTERS.c.scope == scope))


def test_greenlets_of_one_process_queue_for_the_write_lock_without_polling(engine, statements):
    pool = eventlet.GreenPool(20)
    values = list(pool.imap(lambda _: advance(engine), range(200)))
    assert sorted(values) == list(range(1, 201))
    assert begins(statements) == 200


def test_a_failed_transaction_gives_the_lock_back(engine, statements):
    factory = sessionmaker(engine)
    with pytest.raises(ZeroDivisionError), factory() as session:
        next_sequence(session, Counter, "2026-TECH")
        1 / 0
    with factory() as session:  # no commit: the connection goes back to the pool
        next_sequence(session, Counter, "2026-TECH")
    assert advance(engine) == 1
    assert begins(statements) == 3


def test_another_process_holding_the_lock_is_waited_for_without_blocking_this_one(
        engine, path, statements):
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO sequence_counters (scope, value) VALUES ('2026-TECH', 41)")
    waiting = eventlet.spawn(advance, engine)
    ticks = 0
    while begins(statements) < 3:
        eventlet.sleep(0.001)  # this process keeps running while the writer waits
        ticks += 1
    other.execute("COMMIT")
    assert waiting.wait() == 42
    assert ticks >= 3


def test_a_write_that_waits_too_long_fails_as_unreachable(engine, path, monkeypatch):
    monkeypatch.setattr(sqlite_engines, "LOCK_WAIT_SECONDS", 0.05)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError, match="locked"):
        advance(engine)
    other.execute("ROLLBACK")
    assert advance(engine) == 1


def test_a_single_statement_read_runs_while_a_writer_holds_the_lock(engine, statements):
    with engine.begin() as connection:
        connection.execute(insert(COUNTERS).values(scope="2026-TECH", value=7))
    statements.clear()
    writer = sessionmaker(engine)()
    next_sequence(writer, Counter, "2026-TECH")
    with sessionmaker(single_statement_engine(engine), expire_on_commit=False)() as reader:
        assert reader.scalar(select(COUNTERS.c.value)) == 7  # the last committed value
    writer.commit()
    assert begins(statements) == 1


def test_a_single_statement_write_after_reads_sees_the_latest_rows(engine, statements):
    factory = sessionmaker(single_statement_engine(engine), expire_on_commit=False)
    with factory() as session:
        assert value_of(session, "2026-TECH") is None
        assert advance(engine) == 1  # committed by another session meanwhile
        session.execute(insert(COUNTERS).values(scope="2027-TECH", value=5))
        assert value_of(session, "2026-TECH") == 1
        session.commit()
    with factory() as session:
        assert value_of(session, "2027-TECH") == 5
    assert advance(engine) == 2
    assert begins(statements) == 3


def test_synchronous_comes_from_the_url(path):
    for url, level in ((f"sqlite:///{path}", 1), (f"sqlite:///{path}?synchronous=full", 2)):
        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA synchronous")).scalar() == level
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        engine.dispose()
