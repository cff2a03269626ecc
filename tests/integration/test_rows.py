"""Rows queued by a unit of work and written together (:mod:`services.common.rows`): every
row lands, on PostgreSQL a small write is one statement compiled once per shape, and a large
write or SQLite takes a statement per table."""
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.orm import sessionmaker

from services.common import migrate
from services.common.db import make_engine
from services.common.rows import ONE_STATEMENT_ROWS, insert_together, row_of
from services.notification.models import Delivery, Outbox

NOW = datetime.now(timezone.utc)


def delivery() -> Delivery:
    return Delivery(id=str(uuid.uuid4()), channel="email", target="admin",
                    event_id=str(uuid.uuid4()), event_type="user.login_alert",
                    payload={"n": 1}, status="pending", attempts=0, next_attempt_at=NOW,
                    held=False, created_at=NOW)


def outbox() -> Outbox:
    return Outbox(id=str(uuid.uuid4()), event_type="user.login_alert",
                  envelope={"id": "e", "data": {"name": "王"}}, headers={}, created_at=NOW)


class Statements:
    """Each statement sent, with whether SQLAlchemy took its compiled form from the cache."""

    def __init__(self, engine):
        self.seen = []
        event.listen(engine, "before_cursor_execute", self.record)

    def record(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append((statement, context.cache_hit is CacheStats.CACHE_HIT))


def write(engine, rows, final=None):
    with sessionmaker(engine)() as session:
        result = insert_together(session, [row_of(row) for row in rows], final)
        answer = result.scalar() if final is not None else None
        session.commit()
    return answer


def counts(engine) -> tuple:
    with engine.connect() as connection:
        return tuple(connection.scalar(select(func.count()).select_from(model.__table__))
                     for model in (Delivery, Outbox))


@pytest.fixture
def postgres(databases):
    engine = make_engine(databases.fresh("notification"))
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'notification.db'}"
    migrate.upgrade("notification", url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_a_small_write_is_one_statement_compiled_once_per_shape(postgres):
    statements = Statements(postgres)
    write(postgres, [delivery(), outbox(), outbox()])
    write(postgres, [delivery(), outbox(), outbox()])
    first, second = [hit for sql, hit in statements.seen if "INSERT" in sql]
    assert (first, second) == (False, True)
    assert counts(postgres) == (2, 4)


def test_rows_of_a_table_are_stored_in_the_order_queued(postgres):
    """The relay sends one transaction's events, which share a ``created_at``, in the order
    they are stored."""
    queued = [outbox() for _ in range(5)]
    write(postgres, [delivery(), *queued])
    with postgres.connect() as connection:
        assert list(connection.scalars(select(Outbox.id))) == [row.id for row in queued]


def test_a_final_statement_runs_with_the_rows_and_gives_its_result(postgres):
    final = select(func.count()).select_from(Outbox.__table__)
    assert write(postgres, [outbox()], final) == 0  # one snapshot: the WITH clause's row unseen
    assert write(postgres, [delivery()], final) == 1
    assert counts(postgres) == (1, 1)


def test_a_large_write_takes_a_statement_per_table(postgres):
    rows = [delivery() for _ in range(ONE_STATEMENT_ROWS)] + [outbox() for _ in range(40)]
    statements = Statements(postgres)
    write(postgres, rows)
    assert len([sql for sql, _hit in statements.seen if "INSERT" in sql]) == 2
    assert counts(postgres) == (ONE_STATEMENT_ROWS, 40)


def test_sqlite_writes_every_row(sqlite):
    write(sqlite, [delivery(), outbox(), outbox()])
    write(sqlite, [outbox()])
    assert counts(sqlite) == (1, 3)
