"""The gateway's per-request statements (the caller's user, idempotency claims) run on
PostgreSQL's driver directly.

Each costs psycopg about 30 µs of CPU; through a SQLAlchemy ``Connection`` it cost about
200 µs (execution context, events, result metadata, the isolation level set and reset
on every checkout), and a POST runs three of them. They are built once, stand alone (each
commits by itself) and need no type conversion beyond what psycopg does (aware
timestamps, JSON as a dict), so here they are compiled once per shape and executed, as
prepared statements, on a pooled connection kept in autocommit.

:func:`connector` hands the callers a ``connect()`` whose connections answer what they use
of SQLAlchemy's: ``execute`` (a result with ``first``, ``all``, ``scalars`` and
``rowcount``), ``commit`` (a no-op: every statement commits by itself) and ``dialect``.
Errors are SQLAlchemy's, as from a ``Connection``, so an unreachable database is still a
503 and a cut connection leaves the pool. SQLite keeps SQLAlchemy's connections.

Their commits do not wait for the write-ahead log to reach the disk
(``synchronous_commit=off``; PostgreSQL writes it within a fraction of a second), which
takes that wait off every POST twice. Only a crash of the database server (not of the
gateway, not a restart) can lose the last of them, and what they hold is a record of
answers, not the changes: a claim or an answer lost that way makes a retry run the request
again, which a service recognises by the key it carries
(:func:`gateway.idempotency.service_key`) and answers as the first time, so the change is
still made once (a change the gateway makes itself, such as a new user, is refused the
second time as already made). Sessions, users and revocations are written elsewhere, with
the default.
"""
from contextlib import contextmanager

import psycopg
from psycopg.rows import namedtuple_row
from psycopg.types.json import JsonDumper
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from services.common.db import make_engine, single_statement_engine


def connector(engine):
    """``connect()`` for the per-request statements on ``engine``'s database: on PostgreSQL
    through the driver, on its own pool of autocommit connections; else a
    :func:`single_statement_engine` connection."""
    if engine.dialect.name != "postgresql":
        return single_statement_engine(engine).connect
    url = engine.url.render_as_string(hide_password=False)
    # Nothing to roll back when a connection returns: no statement leaves a transaction.
    return DriverStatements(make_engine(url, pool_reset_on_return=None, connect_args={
        "options": "-c synchronous_commit=off"})).connect


def _autocommit(dbapi_connection, _record):
    dbapi_connection.autocommit = True
    dbapi_connection.row_factory = namedtuple_row
    dbapi_connection.adapters.register_dumper(dict, JsonDumper)


class DriverStatements:
    def __init__(self, engine):
        """``engine`` is this object's alone: its connections are set to autocommit."""
        self.engine = engine
        self.dialect = engine.dialect
        self._compiled = {}
        event.listen(engine, "connect", _autocommit)

    @contextmanager
    def connect(self):
        try:
            pooled = self.engine.raw_connection()
        except psycopg.Error as exc:  # the database cannot be reached
            raise self.error(exc) from exc
        try:
            yield _Connection(self, pooled)
        finally:
            pooled.close()

    def compiled(self, statement, parameters: dict):
        """``statement`` compiled for these parameters' names, once."""
        shape = (statement, tuple(parameters))
        found = self._compiled.get(shape)
        if found is None:
            found = self._compiled[shape] = statement.compile(dialect=self.dialect,
                                                              column_keys=list(parameters))
        return found

    def error(self, exc: psycopg.Error, compiled=None, values=None, cut: bool = False):
        """``exc`` as SQLAlchemy raises it from a ``Connection``."""
        return DBAPIError.instance(compiled and compiled.string, values, exc, psycopg.Error,
                                   hide_parameters=True, connection_invalidated=cut,
                                   dialect=self.dialect)


class _Connection:
    def __init__(self, statements: DriverStatements, pooled):
        self.statements, self.pooled = statements, pooled
        self.dialect = statements.dialect

    def execute(self, statement, parameters: dict | None = None) -> "_Result":
        compiled = self.statements.compiled(statement, parameters or {})
        values = compiled.construct_params(parameters)
        try:
            cursor = self.pooled.driver_connection.execute(compiled.string, values,
                                                           prepare=True)
        except psycopg.Error as exc:
            cut = self.dialect.is_disconnect(exc, self.pooled.driver_connection, None)
            if cut:
                self.pooled.invalidate(exc)
            raise self.statements.error(exc, compiled, values, cut) from exc
        return _Result(cursor)

    def commit(self) -> None:
        """Each statement has committed by itself."""


class _Result:
    def __init__(self, cursor):
        self.rowcount = cursor.rowcount
        self._rows = cursor.fetchall() if cursor.description else []

    def first(self):
        return self._rows[0] if self._rows else None

    def all(self) -> list:
        return self._rows

    def scalars(self) -> list:
        return [row[0] for row in self._rows]
