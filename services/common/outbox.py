"""The unit of work and the transactional outbox.

A worker gets a :class:`UnitOfWork`: one session, one transaction. ``uow.emit()`` writes an
event envelope into the ``outbox`` table of the same transaction, so a rolled-back change
emits nothing. What a worker committed is published once it has finished, and by the relay
if that fails (:mod:`services.common.work`, :mod:`services.common.relay`): an event may be
published twice, and consumers deduplicate on the envelope id (:meth:`UnitOfWork.claim`).
:meth:`UnitOfWork.once` runs a write once per idempotency key of the caller.
"""
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from services.common.context import CallContext, context_headers
from services.common.db import conflict_insert, is_postgres
from services.common.events import catalogue, make_envelope
from services.common.rows import insert_together, row_of


@cache
def _claim_statement(table, postgres: bool):
    """The claim of events in ``table`` (a service's ``processed_events``), built once per
    backend: its rows are given at execution, so it is compiled once too."""
    return (conflict_insert(postgres)(table)
            .on_conflict_do_nothing(index_elements=list(table.primary_key.columns))
            .returning(table.c.event_id))


@cache
def _answer_insert(table, postgres: bool):
    """The insert of an answer's row into ``table``, built once per backend and table, so
    it is compiled once and joined to a write's inserts once per shape
    (:func:`services.common.rows.insert_together`)."""
    values = {column.name: bindparam(column.name, type_=column.type) for column in table.columns}
    return (conflict_insert(postgres)(table).values(values)
            .on_conflict_do_nothing(index_elements=list(table.primary_key.columns))
            .returning(table.c.key))


_NOT_YET = object()  # see UnitOfWork.commit


class UnitOfWork:
    """One worker's transaction, with the events it emits."""

    def __init__(self, session_factory, models, source: str, context: CallContext, clock,
                 reads_engine=None):
        """``reads_engine`` serves :attr:`reads` and :meth:`read` (default: :attr:`session`)."""
        self._session_factory = session_factory
        self._reads_engine = reads_engine
        self._reads = None
        self._models = models
        self._source = source
        self.context = context
        self.clock = clock
        self._session = None
        self._pending = []
        self._rows = []  # new rows for Core inserts at commit (:mod:`services.common.rows`)
        self.committed = []
        self._holding = None  # inside once(): (operation, key); commit() only flushes
        self._flushed = False
        self._recorded = _NOT_YET  # the answer's row, if the work's commit() wrote it

    @property
    def session(self):
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    @property
    def reads(self):
        """A session for a use case that only reads
        (:func:`services.common.db.single_statement_engine`): on PostgreSQL each statement
        runs on its own, without the BEGIN and ROLLBACK round trips of a transaction, so two
        statements may see two states of the database (a read that must be consistent is one
        statement); on SQLite its reads share one deferred transaction that takes no lock."""
        if self._reads_engine is None:
            return self.session
        if self._reads is None:
            self._reads = Session(self._reads_engine, expire_on_commit=False)
        return self._reads

    def read(self, statement, parameters=None) -> list:
        """The rows of ``statement``, one Core statement that only reads, as :attr:`reads`
        would run it, on a connection taken from the pool and given back at once: no
        session is made and closed for it (a tenth of the CPU of a short read)."""
        if self._reads_engine is None:
            return self.session.execute(statement, parameters).all()
        with self._reads_engine.connect() as connection:
            return connection.execute(statement, parameters).all()

    def now(self):
        return self.clock.now()

    def emit(self, event_type: str, data: dict) -> dict:
        """Write ``event_type`` with ``data`` dumped through the schema its producer declares
        (``services/<name>/events.py``); :class:`~services.common.events.InvalidEvent` if
        it is undeclared or ``data`` does not fit."""
        data = catalogue(self._source).payload(event_type, data)
        envelope = make_envelope(event_type, data, self._source, self.context.request_id,
                                 self.now())
        row = self._models.Outbox(id=envelope["id"], event_type=event_type, envelope=envelope,
                                  headers=context_headers(self.context), created_at=self.now())
        self.add_row(row)
        self._pending.append(row)
        return envelope

    def add_row(self, record) -> None:
        """Insert the new ORM object ``record``, as it is now, at commit with a Core insert,
        together with the others (one round trip on PostgreSQL) and after the session's own
        flush: for rows the transaction neither reads back nor changes later (history,
        outbox, a new ticket and its clocks)."""
        self._rows.append(row_of(record))

    def _write(self, final=None, parameters=None):
        """Flush the session, then insert the queued rows and run ``final`` with its
        ``parameters``; its result."""
        self.session.flush()
        rows, self._rows = self._rows, []
        return insert_together(self.session, rows, final, parameters)

    def claim(self, consumer: str, event_id: str) -> bool:
        """Record that ``consumer`` handled ``event_id``; False if it already had. One
        ``INSERT … ON CONFLICT DO NOTHING``: a concurrent claim of the same event waits for
        the first to commit (or roll back) and then knows."""
        return bool(self.claim_many(consumer, [event_id]))

    def claim_many(self, consumer: str, event_ids) -> set:
        """:meth:`claim` for a batch in one statement: the ids not handled before (a
        repeated id within the batch counts once)."""
        event_ids = list(dict.fromkeys(event_ids))
        if not event_ids:
            return set()
        now = self.now()
        rows = [{"consumer": consumer, "event_id": event_id, "processed_at": now}
                for event_id in event_ids]
        statement = _claim_statement(self._models.ProcessedEvent.__table__,
                                     is_postgres(self.session))
        # Several rows are still one INSERT (SQLAlchemy's "insertmanyvalues").
        return set(self.session.connection().execute(
            statement, rows[0] if len(rows) == 1 else rows).scalars())

    def handled(self, consumer: str, event_ids) -> set:
        """Which of ``event_ids`` ``consumer`` has claimed (as far as this transaction sees)."""
        table = self._models.ProcessedEvent.__table__
        return set(self.session.scalars(select(table.c.event_id).where(
            table.c.consumer == consumer, table.c.event_id.in_(list(event_ids)))))

    def once(self, operation: str, work):
        """Run ``work()`` once per idempotency key of the caller (none: every time).

        The change ``work`` commits and the answer it returns are committed in one
        transaction, with a ``processed_requests`` row; a repeat of the request (a client
        retry, RabbitMQ redelivering it after a broker restart, the same request running
        concurrently) returns that answer. ``work`` calls :meth:`commit` as usual; here that
        only flushes (or, given the answer, writes it with the change), and the commit
        happens once the answer is known. A ``work`` that never commits (a no-op, an error)
        records nothing.

        There is no look-up first (first attempts are the common case): the answer's row is
        inserted last, ``ON CONFLICT DO NOTHING``, with the change's queued rows. A repeat
        finds the key taken (after waiting for a concurrent first attempt to commit), rolls
        its own work back and returns the first answer.
        """
        key = self.context.idempotency_key
        if key is None:
            return work()
        self.rollback()  # no transaction stays open while work() may call another service
        self._holding = (operation, key)
        try:
            answer = work()
            self._holding = None
            if not self._flushed:
                earlier = self._answered(operation, key)
                return answer if earlier is None else earlier.answer
            recorded = self._recorded if self._recorded is not _NOT_YET \
                else self._write(*self._record(operation, key, answer)).first()
            if recorded is None:
                self.rollback()
                return self._answered(operation, key).answer
            self.commit()
            return answer
        except Exception:
            self._holding = None
            self.rollback()
            # The same request committed first and this attempt failed because of it (a
            # state it already changed): its answer is the answer.
            earlier = self._answered(operation, key)
            if earlier is not None:
                return earlier.answer
            raise
        finally:
            self._holding = None
            self._flushed = False
            self._recorded = _NOT_YET

    def _record(self, operation: str, key: str, answer) -> tuple:
        """The insert of the answer's row and its parameters: nothing (no row returned) if
        the key is taken."""
        statement = _answer_insert(self._models.ProcessedRequest.__table__,
                                   is_postgres(self.session))
        return statement, {"operation": operation, "key": key, "answer": answer,
                           "at": self.now()}

    def _answered(self, operation: str, key: str):
        return self.session.get(self._models.ProcessedRequest, (operation, key),
                                populate_existing=True)

    def commit(self, answer=None):
        """Commit; inside :meth:`once`, only flush (the queued rows wait for its final
        statement). A work that knows its answer before it commits may give it: inside
        :meth:`once` the queued rows and the answer's row are then written here, in one
        statement, so what the rows break (a unique key) raises in the work. ``answer``
        must be what the work returns."""
        if self._holding:
            if answer is None:
                self.session.flush()
            else:
                self._recorded = self._write(*self._record(*self._holding, answer)).first()
            self._flushed = True
            return
        self._write()
        self.session.commit()
        self.committed.extend(self._pending)
        self._pending.clear()

    def rollback(self):
        if self._session is not None:
            self._session.rollback()
        self._pending.clear()
        self._rows.clear()

    def close(self):
        for session in (self._session, self._reads):
            if session is not None:
                session.close()
