"""The gateway's idempotency store on its own (SQLite in memory, a manual clock): claims,
replays, refusals, and the claims it takes over (expired, or left by a dead gateway)."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from gateway import idempotency
from gateway.idempotency import Answer, IdempotencyStore
from gateway.models import Base, IdempotentRequest, Outbox
from services.common.clock import ManualClock
from services.common.db import make_engine
from services.common.errors import InProgress, KeyReused, ValidationFailed
from services.common.relay import OutboxRelay

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
ANSWER = Answer(201, '{"id": "2026-TECH-001"}', {"Content-Type": "application/json"})


@pytest.fixture
def clock():
    return ManualClock(NOW)


@pytest.fixture
def store(clock, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    Base.metadata.create_all(engine)
    yield IdempotencyStore(engine.connect, clock,
                           abandoned_after=timedelta(minutes=1), wait_seconds=0.2)
    engine.dispose()


def test_the_first_claim_owns_the_key_and_a_repeat_gets_its_answer(store):
    assert store.claim("alice", "key-00001", "hash-a") is None
    store.finish("alice", "key-00001", ANSWER)
    assert store.claim("alice", "key-00001", "hash-a") == ANSWER
    assert store.claim("bob", "key-00001", "hash-a") is None  # another user's key


def test_another_request_under_the_key_is_refused(store):
    store.claim("alice", "key-00001", "hash-a")
    store.finish("alice", "key-00001", ANSWER)
    with pytest.raises(KeyReused):
        store.claim("alice", "key-00001", "hash-b")


def test_a_repeat_of_a_running_request_waits_then_is_in_progress(store):
    store.claim("alice", "key-00001", "hash-a")
    with pytest.raises(InProgress):
        store.claim("alice", "key-00001", "hash-a")


def test_a_released_claim_runs_again(store):
    store.claim("alice", "key-00001", "hash-a")
    store.release("alice", "key-00001")  # the first attempt ended in a 5xx
    assert store.claim("alice", "key-00001", "hash-b") is None


def test_a_claim_left_by_a_dead_gateway_is_taken_over(store, clock):
    store.claim("alice", "key-00001", "hash-a")
    clock.advance(61)
    assert store.claim("alice", "key-00001", "hash-a") is None


class Outage:
    """A connection factory whose database cannot be reached for the next ``sessions`` tries."""

    def __init__(self, factory):
        self.factory, self.sessions = factory, 0

    def __call__(self):
        if self.sessions:
            self.sessions -= 1
            raise OperationalError("SELECT 1", {}, Exception("the database is restarting"))
        return self.factory()


def test_ending_a_claim_waits_out_a_short_database_outage(store, clock):
    """Else the claim stays in flight and every retry is 409 until it counts as abandoned."""
    outage, pauses = Outage(store.connect), []
    store = IdempotencyStore(outage, clock, abandoned_after=timedelta(minutes=1),
                             wait_seconds=0, sleep=pauses.append)
    store.claim("alice", "key-00001", "hash-a")
    outage.sessions = 3
    store.release("alice", "key-00001")  # the request ended in a 503 during the outage
    assert pauses == [idempotency.SETTLE_POLL_SECONDS] * 3
    assert store.claim("alice", "key-00001", "hash-a") is None  # the retry runs at once
    outage.sessions = 2
    store.finish("alice", "key-00001", ANSWER)
    assert store.claim("alice", "key-00001", "hash-a") == ANSWER


def test_ending_a_claim_gives_up_on_a_long_outage(store, clock):
    outage = Outage(store.connect)
    store = IdempotencyStore(outage, clock, abandoned_after=timedelta(minutes=1),
                             wait_seconds=0.2, settle_seconds=0)
    store.claim("alice", "key-00001", "hash-a")
    outage.sessions = 1
    with pytest.raises(OperationalError):
        store.release("alice", "key-00001")
    with pytest.raises(InProgress):
        store.claim("alice", "key-00001", "hash-a")  # taken over only once abandoned


def claimed_by(store, claimant: str) -> None:
    with store.connect() as connection:
        connection.execute(update(IdempotentRequest).values(claimed_by=claimant))
        connection.commit()


def test_a_claim_of_a_process_that_is_gone_is_taken_over_at_once(store):
    host, pid, started = idempotency.this_process().rsplit(":", 2)
    store.claim("alice", "key-00001", "hash-a")
    for running in (idempotency.this_process(), f"elsewhere:{pid}:{started}"):
        claimed_by(store, running)  # alive, or on another host: nothing is known
        with pytest.raises(InProgress):
            store.claim("alice", "key-00001", "hash-a")
    claimed_by(store, f"{host}:{pid}:{int(started) + 1}")  # the pid now names another process
    assert store.claim("alice", "key-00001", "hash-a") is None
    with pytest.raises(InProgress):  # taken over by this process, which runs
        store.claim("alice", "key-00001", "hash-a")


def test_an_answer_older_than_24_hours_is_forgotten(store, clock):
    store.claim("alice", "key-00001", "hash-a")
    store.finish("alice", "key-00001", ANSWER)
    clock.advance(24 * 3600)
    assert store.claim("alice", "key-00001", "hash-b") is None


@pytest.mark.parametrize("key", ["short", "x" * 129, "with space", "non-ascii-ключ"])
def test_keys_are_8_to_128_visible_ascii_characters(key):
    with pytest.raises(ValidationFailed):
        idempotency.check_key(key)


def test_requests_are_the_same_when_their_json_is_the_same_data():
    same = idempotency.request_hash("POST", "/api/v1/customers", b"", b'{"a": 1, "b": [1, 2]}')
    assert same == idempotency.request_hash("POST", "/api/v1/customers", b"",
                                            b'{"b":[1,2],"a":1}')
    assert same != idempotency.request_hash("POST", "/api/v1/customers", b"",
                                            b'{"a": 1, "b": [2, 1]}')
    assert same != idempotency.request_hash("POST", "/api/v1/tickets", b"",
                                            b'{"a": 1, "b": [1, 2]}')


def test_the_relay_round_purges_answers_older_than_24_hours(store, clock):
    relay = OutboxRelay("memory://", "gateway", store.connect, Outbox, clock,
                        expiring=[idempotency.expiring_column()])
    store.claim("alice", "old-key-01", "hash-a")
    store.finish("alice", "old-key-01", ANSWER)
    clock.advance(23 * 3600)
    store.claim("alice", "new-key-01", "hash-a")
    store.finish("alice", "new-key-01", ANSWER)
    assert relay.purge_expired() == 0
    clock.advance(3601)
    assert relay.purge_expired() == 1
    with pytest.raises(KeyReused):  # the younger one is still kept
        store.claim("alice", "new-key-01", "hash-b")
