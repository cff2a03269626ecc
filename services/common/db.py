"""Database plumbing shared by every service: engines, UTC times, the kernel tables and
sequences that stay unique under concurrency.

Each service has its own ``DeclarativeBase`` and its own database; the mixins here give each
of them the same kernel tables (outbox, processed events, processed requests, sequence
counters).
"""
import select as select_module
import time
from datetime import datetime, timezone
from functools import lru_cache, partial

import psycopg
from eventlet.hubs import trampoline
from psycopg import waiting
from sqlalchemy import (
    JSON, DateTime, Integer, MetaData, String, bindparam, create_engine, delete, event, func,
    select, tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from services.common.errors import NotFound, Unavailable
from services.common.sqlite import STATEMENT_AT_A_TIME, sqlite_engine

# A database that cannot be reached: down, restarting, a connection cut mid-query.
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)
# A pooled PostgreSQL connection idle this long is pinged before it is handed out (a
# database restart meanwhile would have cut it); a busier one is used as it is, and if it
# was cut after all, the error invalidates the whole pool and the caller sees a 503/retry.
PING_AFTER_IDLE_SECONDS = 1.0
MAX_CONNECTIONS = 15  # per engine (process), whatever its pool size
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def unreachable_as_unavailable(exc_info):
    """``exc_info`` with a database connection failure replaced by :class:`Unavailable`
    (503, "retry shortly"): the transaction was rolled back, so a retry is safe."""
    if exc_info is None or not isinstance(exc_info[1], DATABASE_UNREACHABLE):
        return exc_info
    error = Unavailable("The database cannot be reached; retry shortly.",
                        {"reason": type(exc_info[1].orig or exc_info[1]).__name__})
    return type(error), error, exc_info[2]


def service_metadata() -> MetaData:
    """Metadata with named constraints, so migrations name them the same on every backend."""
    return MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """A timezone-aware timestamp on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def make_engine(url: str, pool_size: int = 5, dollar_placeholders: bool = False, **options):
    """An engine for ``url`` (``options`` for ``create_engine``). SQLite gets WAL and
    ``BEGIN IMMEDIATE`` transactions, so two writers (or two processes) queue instead of
    failing (:mod:`services.common.sqlite`). Errors never show the statement's parameters
    (customer data), so logs cannot leak them.

    On PostgreSQL the pool keeps ``pool_size`` connections and opens up to
    :data:`MAX_CONNECTIONS` in all: one opened beyond ``pool_size`` is closed when it is
    given back, so a pool smaller than the usual concurrency opens (and the server forks)
    a connection every few calls, and loses the statements prepared on it.

    ``dollar_placeholders``: statements are compiled with PostgreSQL's own ``$1``
    placeholders and sent as they are (psycopg's ``RawCursor``). With its ``%(name)s``
    ones psycopg parses each statement to find them, and caches that only for statements
    up to 4 kB and 50 parameters: a create's single insert of every new row was parsed
    again on every call."""
    if url.startswith("sqlite"):
        return sqlite_engine(url, hide_parameters=True, **options)
    if dollar_placeholders:
        options = {**options, "paramstyle": "numeric_dollar",
                   "connect_args": {**options.get("connect_args", {}),
                                    "cursor_factory": psycopg.RawCursor}}
    engine = create_engine(url, pool_size=pool_size,
                           max_overflow=max(0, MAX_CONNECTIONS - pool_size), hide_parameters=True,
                           **options)
    event.listen(engine, "checkin", _note_idle)
    event.listen(engine, "checkout", partial(_ping_if_idle, engine.dialect))
    return engine


def single_statement_engine(engine):
    """``engine`` for work done one statement at a time (a read, an insert or update that
    stands alone): on PostgreSQL each statement commits by itself, without the BEGIN and
    COMMIT (or ROLLBACK) round trips of a transaction; on SQLite the transaction begins at
    the first statement, and a read takes no write lock (:mod:`services.common.sqlite`).
    The gateway runs its per-request statements on its ``connect()``, with no ORM session."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.execution_options(**{STATEMENT_AT_A_TIME: True})


def wait_green(gen, fileno: int, interval: float = 0.0, timeout: float | None = None):
    """psycopg's wait for a round trip, for a service under eventlet: the greenlet sleeps on
    the connection's socket in eventlet's hub (``trampoline``), the others run meanwhile.

    ``PSYCOPG_WAIT_FUNC=wait_select`` does the same through the green ``select()``, which
    also arms and cancels a timer for psycopg's polling interval and copies descriptor
    lists at every wait: measured here, about 0.04 ms of CPU more per round trip, a sixth of
    the CPU of a consumer's one-event batch on PostgreSQL. A wait with a deadline, or for
    reading and writing at once (a large statement being sent), still goes through it."""
    if timeout is not None:
        return waiting.wait_select(gen, fileno, interval, timeout)
    try:
        state = next(gen)
        while True:
            if state == waiting.WAIT_R:
                trampoline(fileno, read=True)
                ready = waiting.READY_R
            elif state == waiting.WAIT_W:
                trampoline(fileno, write=True)
                ready = waiting.READY_W
            else:
                readable, writable, _ = select_module.select((fileno,), (fileno,), ())
                ready = ((waiting.READY_R if readable else 0)
                         | (waiting.READY_W if writable else 0))
            state = gen.send(ready)
    except StopIteration as done:
        return done.value


def use_green_wait() -> None:
    """Make psycopg wait through :func:`wait_green` (a process patched by eventlet)."""
    waiting.wait = wait_green


def _note_idle(_dbapi_connection, record):
    if record is not None:
        record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dialect, dbapi_connection, record, _proxy):
    """Ping a connection that sat in the pool longer than :data:`PING_AFTER_IDLE_SECONDS`
    (what ``pool_pre_ping`` does on every checkout, a round trip per transaction); a dead
    one makes the pool open a new connection."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as exc:
        raise DisconnectionError(f"a pooled connection was cut: {exc}") from exc


class OutboxMixin:
    """Events written in the same transaction as the change that caused them."""

    __tablename__ = "outbox"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(80))
    envelope: Mapped[dict] = mapped_column(JSON)
    headers: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class ProcessedEventMixin:
    """One row per (consumer, event id): a repeat delivery hits the primary key."""

    __tablename__ = "processed_events"
    consumer: Mapped[str] = mapped_column(String(80), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessedRequestMixin:
    """One row per (operation, idempotency key), written in the transaction of the change: a
    retried or redelivered request finds it and gets the first ``answer`` back."""

    __tablename__ = "processed_requests"
    operation: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    answer: Mapped[dict | list | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SequenceCounterMixin:
    """A counter per scope (``2026-TECH``, a customer id ...), advanced inside a transaction."""

    __tablename__ = "sequence_counters"
    scope: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


def is_postgres(session: Session) -> bool:
    return session.bind.dialect.name == "postgresql"


def conflict_insert(postgres: bool):
    """The backend's ``insert`` construct, the one that takes ``ON CONFLICT``."""
    return postgresql.insert if postgres else sqlite.insert


def upsert(session: Session, table):
    """An ``INSERT`` for ``table`` that takes ``ON CONFLICT`` on both supported backends."""
    return conflict_insert(is_postgres(session))(table)


# The transaction-scoped advisory locks of the keys ``:keys`` (a text array), taken in the
# order of their hashes, the same in every transaction, so two that share keys wait for each
# other instead of deadlocking. A scalar subquery: a statement may take them as a condition
# evaluated once, before it writes anything.
ADVISORY_LOCKS = ("(SELECT count(pg_advisory_xact_lock(h)) FROM (SELECT DISTINCT hashtext(k) AS h"
                  " FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS ordered)")


def upsert_per_backend(build):
    """``build(insert)``, given the backend's ``ON CONFLICT``-taking insert, made once per
    backend: a function of the session giving that statement. Run with a list of rows, a
    statement built once is compiled once (a multi-row ``VALUES`` has no cache key, so
    SQLAlchemy would compile it anew for every call)."""
    built = {}

    def statement(session: Session):
        postgres = is_postgres(session)
        if postgres not in built:
            built[postgres] = build(conflict_insert(postgres))
        return built[postgres]

    return statement


def next_sequence(session: Session, counter_model, scope: str, *also, **parameters):
    """Advance the counter for ``scope`` and return its new value; with ``also`` (scalar
    subqueries: other values the caller needs), the row ``(value, *also)``, read in the same
    round trip. ``also`` may name bind parameters, given in ``parameters``: built once by
    the caller, the same objects every time, they make the whole statement built and
    compiled once.

    One upsert: PostgreSQL holds the row lock until commit, SQLite runs it under
    ``BEGIN IMMEDIATE``; either way no two transactions get the same number, and a
    rolled-back transaction gives its number back.
    """
    statement = _sequence_upsert(is_postgres(session), counter_model.__table__, also)
    row = session.execute(statement, {"scope": scope, **parameters}).one()
    return tuple(row) if also else row[0]


@lru_cache(maxsize=32)
def _sequence_upsert(postgres: bool, table, also: tuple):
    return (conflict_insert(postgres)(table)
            .values(scope=bindparam("scope", type_=table.c.scope.type), value=1)
            .on_conflict_do_update(index_elements=[table.c.scope],
                                   set_={"value": table.c.value + 1})
            .returning(table.c.value, *also))


def one_or_404(session: Session, statement, what: str, record_id):
    """The first row of ``statement``; a 404 naming ``what`` and its id when there is none."""
    row = session.scalars(statement).first()
    if row is None:
        raise NotFound(f"{what} {record_id} does not exist.", {"id": record_id})
    return row


def purge_before(session_factory, column, cutoff: datetime, batch: int = 500) -> int:
    """Delete one batch of the rows of ``column``'s table older than ``cutoff``; return how
    many (a caller repeats rounds, so a large backlog never becomes one long transaction)."""
    table = column.table
    key = list(table.primary_key.columns)
    with session_factory() as session:
        doomed = select(*key).where(column < cutoff).limit(batch)
        rows = session.execute(doomed).all()
        if rows:
            session.execute(delete(table).where(tuple_(*key).in_(rows)))
            session.commit()
    return len(rows)


def count(session: Session, statement) -> int:
    """The number of rows ``statement`` would return."""
    return session.execute(select(func.count()).select_from(statement.subquery())).scalar_one()
