"""The gateway's per-request statements on PostgreSQL's driver (gateway.statements): the
idempotency store and the session lookup behave as on SQLAlchemy's connections, and a
database error is still SQLAlchemy's (a 503 to the client), a cut connection replaced."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import OperationalError

from gateway.idempotency import Answer, IdempotencyStore
from gateway.models import RevokedToken, User
from gateway.sessions import Actor, Sessions
from gateway.statements import connector
from services.common.clock import ManualClock
from services.common.db import make_engine
from services.common.errors import InProgress, KeyReused, Unauthorized

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def gateway_db(databases):
    url = databases.fresh("gateway")
    engine = make_engine(url)
    yield engine, connector(engine)
    engine.dispose()


def test_the_idempotency_store_claims_replays_and_takes_over(gateway_db):
    _engine, connect = gateway_db
    clock = ManualClock(NOW)
    store = IdempotencyStore(connect, clock, abandoned_after=timedelta(minutes=1),
                             wait_seconds=0.1)
    answer = Answer(201, '{"id": "x"}', {"Content-Type": "application/json", "ETag": '"1"'})
    assert store.claim("alice", "key-00001", "hash-a") is None
    with pytest.raises(InProgress):
        store.claim("alice", "key-00001", "hash-a")
    store.finish("alice", "key-00001", answer)
    assert store.claim("alice", "key-00001", "hash-a") == answer
    with pytest.raises(KeyReused):
        store.claim("alice", "key-00001", "hash-b")
    store.claim("alice", "key-00002", "hash-a")
    clock.advance(61)  # its gateway died mid-call
    assert store.claim("alice", "key-00002", "hash-a") is None
    store.release("alice", "key-00002")
    assert store.claim("alice", "key-00002", "hash-c") is None


def test_the_session_lookup_sees_revocations_and_teams(gateway_db):
    engine, connect = gateway_db
    with engine.begin() as connection:
        connection.execute(insert(User), [
            {"username": name, "role": role, "team": "north", "password_hash": "x",
             "must_change_password": False, "token_generation": 2, "active": True,
             "created_at": NOW}
            for name, role in (("mona", "manager"), ("sam", "sales"))])
        connection.execute(insert(RevokedToken).values(jti="gone", username="sam",
                                                       expires_at=NOW + timedelta(days=1)))
    sessions = Sessions(None, None, connect)
    assert sessions.actor({"sub": "mona", "jti": "t1", "gen": 2}) == Actor(
        "mona", "manager", "north", ("mona", "sam"), False)
    assert sessions.actor({"sub": "sam", "jti": "t2", "gen": 2}).team_members == ()
    for claims in ({"sub": "sam", "jti": "gone", "gen": 2}, {"sub": "sam", "jti": "t3", "gen": 1},
                   {"sub": "nobody", "jti": "t4", "gen": 2}):
        with pytest.raises(Unauthorized):
            sessions.actor(claims)


def test_a_cut_connection_is_an_operational_error_and_is_replaced(gateway_db):
    engine, connect = gateway_db
    with connect() as connection:
        (pid,) = connection.execute(text("SELECT pg_backend_pid()")).first()
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(OperationalError):
        with connect() as connection:
            connection.execute(text("SELECT 1"))
    with connect() as connection:
        assert connection.execute(text("SELECT 1")).scalars() == [1]


def test_a_database_that_cannot_be_reached_is_an_operational_error():
    url = "postgresql+psycopg://postgres@127.0.0.1:1/gateway"
    engine = make_engine(url)
    with pytest.raises(OperationalError):
        with connector(engine)() as connection:
            connection.execute(text("SELECT 1"))


def test_the_statements_commit_without_waiting_for_the_disk(gateway_db):
    engine, connect = gateway_db
    with connect() as connection:
        assert connection.execute(text("SHOW synchronous_commit")).scalars() == ["off"]
    with engine.connect() as connection:  # the users and sessions keep the default
        assert connection.execute(text("SHOW synchronous_commit")).scalar() == "on"
