"""Claiming events for a consumer, one at a time and as a batch, on SQLite and PostgreSQL:
an event is taken once whatever the path. Reads outside a transaction (``uow.reads``)."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from services.common.clock import ManualClock
from services.common.config import sqlite_url
from services.common.consuming import apply_batch
from services.common.context import CallContext
from services.common.db import make_engine, single_statement_engine
from services.common.errors import Unavailable
from services.common.migrate import upgrade
from services.common.outbox import UnitOfWork
from services.customer import models


@pytest.fixture(params=["sqlite", "postgres"])
def unit(request, databases, tmp_path):
    url = (sqlite_url(tmp_path, "customer") if request.param == "sqlite"
           else databases.fresh("customer"))
    if request.param == "sqlite":
        upgrade("customer", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    reads = single_statement_engine(engine)
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))
    units = []

    def make():
        units.append(UnitOfWork(factory, models, "customers", CallContext("req", None, None),
                                clock, reads))
        return units[-1]

    yield make
    for each in units:
        each.close()
    engine.dispose()


def test_a_batch_claims_only_the_events_not_taken_before(unit):
    first = unit()
    assert first.claim("reports", "e1")
    first.commit()
    batch = unit()
    assert batch.claim_many("reports", ["e1", "e2", "e3", "e2"]) == {"e2", "e3"}
    batch.commit()
    again = unit()
    assert again.claim_many("reports", ["e2", "e3"]) == set()
    assert again.claim_many("another consumer", ["e2"]) == {"e2"}
    assert not again.claim("reports", "e3")


def test_an_empty_batch_claims_nothing(unit):
    assert unit().claim_many("reports", []) == set()


def test_reads_see_what_is_committed_and_hold_no_transaction(unit):
    writer = unit()
    assert writer.claim("reports", "e1")
    reader = unit()
    table = models.ProcessedEvent.__table__
    statement = select(table.c.event_id).where(table.c.consumer == "reports")
    assert reader.reads.scalars(statement).all() == []  # not committed yet
    writer.commit()
    reader = unit()
    assert reader.reads.scalars(statement).all() == ["e1"]
    connection = reader.reads.connection().connection.dbapi_connection
    if hasattr(connection, "info"):  # PostgreSQL: no transaction left open by the reads
        assert connection.info.transaction_status.name == "IDLE"
    assert reader.reads is reader.reads and reader._session is None


def test_handled_names_the_claimed_events(unit):
    first = unit()
    first.claim_many("reports", ["e1", "e2"])
    first.commit()
    assert unit().handled("reports", ["e1", "e3"]) == {"e1"}


def test_a_batch_broken_by_a_unique_key_is_retried_unless_already_handled(unit):
    def clash(_fresh):
        raise IntegrityError("INSERT", {}, Exception("unique"))

    with pytest.raises(Unavailable):
        apply_batch(unit(), "reports", [{"id": "e1"}], clash)
    assert unit().claim("reports", "e1")  # the failed batch's claim was rolled back
