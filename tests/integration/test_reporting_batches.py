"""The reporting consumer's batches on both backends (PostgreSQL and the embedded SQLite):
a history applied in batches, with repeat deliveries, leaves exactly the rows it leaves
applied one event at a time, and gives the expected summary; a batch holding a malformed
event writes nothing."""
import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common import migrate
from services.common.clock import ManualClock
from services.common.context import CallContext
from services.common.db import make_engine
from services.common.errors import ValidationFailed
from services.common.outbox import UnitOfWork
from services.reporting import detail_store, models, reports, store
from services.reporting.models import EventLog
from services.reporting.simulate import EventStream
from tests.integration.test_reporting_service import (
    EXPECTED, NOW, RANGE, at, customer_history, ticket_history,
)

TABLES = store.READ_MODEL + detail_store.TABLES


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request, databases, tmp_path):
    """A factory of new, migrated, empty reporting databases on the backend of the param."""
    engines = []

    def make():
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path}/reporting-{len(engines)}.db"
            migrate.upgrade("reporting", url)
        else:
            url = databases.fresh("reporting")
        engines.append(make_engine(url))
        return sessionmaker(engines[-1], expire_on_commit=False)

    yield make
    for engine in engines:
        engine.dispose()


def consume(sessions, payloads: list) -> int:
    uow = UnitOfWork(sessions, models, "reporting", CallContext.from_data({}), ManualClock(NOW))
    return reports.consume_batch(uow, payloads)


def contents(sessions) -> dict:
    """Every row of the read model, but counters at zero (a batch nets out the deltas that
    one event at a time writes and takes back)."""
    with sessions() as session:
        return {model.__tablename__: sorted(
            tuple(row) for row in session.execute(select(*model.__table__.columns))
            if row._mapping.get("n", 1) != 0)
            for model in TABLES}


def history() -> list[dict]:
    stream = EventStream()
    customer_history(stream)
    ticket_history(stream)
    return stream.envelopes


def test_batches_leave_the_rows_one_at_a_time_leaves(fresh_database):
    envelopes = history()
    one_by_one, batched = fresh_database(), fresh_database()
    for envelope in envelopes:
        consume(one_by_one, [envelope])
    applied = 0
    for start in range(0, len(envelopes), 7):
        batch = envelopes[start:start + 7]
        # Each batch also brings a repeat of its first event and of the previous batch's last.
        applied += consume(batched, batch + batch[:1] + envelopes[max(0, start - 1):start])
    assert applied == len(envelopes)
    assert contents(batched) == contents(one_by_one)
    uow = UnitOfWork(batched, models, "reporting", CallContext.from_data({}), ManualClock(NOW))
    assert reports.summary(uow, RANGE) == EXPECTED


def test_a_batch_with_a_malformed_event_writes_nothing(fresh_database):
    sessions = fresh_database()
    stream = EventStream()
    stream.create_customer("C1", at(2))
    created = stream.create_ticket("C1-001", "C1", at(5))
    broken = {**created, "id": "other", "data": {"ticket": {"id": "C1-002"}}}
    with pytest.raises(ValidationFailed):
        consume(sessions, [*stream.envelopes, broken])
    with sessions() as session:
        assert session.scalars(select(EventLog.id)).all() == []
    assert consume(sessions, stream.envelopes) == 2
