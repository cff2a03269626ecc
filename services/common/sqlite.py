"""SQLite engines: WAL, and a write lock that waiters queue on instead of polling.

SQLite lets one transaction at a time write a database file. Every transaction starts with
``BEGIN IMMEDIATE`` (a read followed by a write in a deferred transaction could find its
snapshot stale and fail), so it takes the file's write lock first. Each service owns its
file, so nearly everyone waiting for that lock is a greenlet (a gateway thread) of the same
process: they queue on a lock of the process, one per file, taken before ``BEGIN IMMEDIATE``
and released when the transaction ends, and nobody polls. ``threading.Lock`` is eventlet's
green lock in a monkey-patched service and a real lock in the gateway's threads.

Sessions that run one statement at a time (:func:`services.common.db.single_statement_engine`,
:data:`STATEMENT_AT_A_TIME`) begin at their first statement instead: a read begins deferred
and takes no lock (under WAL it reads a snapshot while a writer works), anything else
begins as above; a write after reads in such a session commits the reads first, as each
statement commits by itself on PostgreSQL.

Another process holding the file (a script, a second replica, the backup) is the exception:
that is waited for by retrying ``BEGIN IMMEDIATE`` in short sleeps, green under eventlet,
rather than in SQLite's busy handler, which sleeps inside C and would block every greenlet
of the process (and deadlock it when the holder is one of them).

Durability: ``synchronous=NORMAL`` under WAL writes each commit to the log before the
commit returns, so a committed transaction survives the process being killed; the log is
synced to disk at checkpoints, not at every commit, so a power cut or a kernel crash can
lose the last transactions committed before it (the file stays consistent). A URL
ending in ``?synchronous=FULL`` syncs at every commit and survives those too, for one fsync
per transaction (measured here: ≈ 0.15 ms of CPU and 4–6 ms during which the process, a
single thread under eventlet, does nothing else).
"""
import os
import sqlite3
import threading
import time

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

LOCK_WAIT_SECONDS = 15
POLL_SECONDS = 0.005
SYNCHRONOUS_LEVELS = ("NORMAL", "FULL")
STATEMENT_AT_A_TIME = "deskflow_statement_at_a_time"  # execution option, see above
STATEMENT_CACHE_SIZE = 512  # prepared statements kept per connection (Python's default: 128)

_file_locks = {}  # database file -> the lock of this process for writing it


def sqlite_engine(url: str, **kwargs):
    """An engine for the SQLite ``url`` (its ``synchronous`` query parameter: ``NORMAL``,
    the default, or ``FULL``)."""
    url = make_url(url)
    synchronous = url.query.get("synchronous", "NORMAL").upper()
    if synchronous not in SYNCHRONOUS_LEVELS:
        raise ValueError(f"synchronous={synchronous}: one of {', '.join(SYNCHRONOUS_LEVELS)}")
    engine = create_engine(url.difference_update_query(["synchronous"]), connect_args={
        "check_same_thread": False, "factory": LockingConnection,
        "cached_statements": STATEMENT_CACHE_SIZE}, **kwargs)

    @event.listens_for(engine, "connect")
    def configure(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        for pragma in ("journal_mode=WAL", f"synchronous={synchronous}", "busy_timeout=0",
                       "foreign_keys=ON"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    event.listen(engine, "begin", _begin)
    event.listen(engine, "before_cursor_execute", _before_statement)
    return engine


class LockingConnection(sqlite3.Connection):
    """A connection that holds its file's lock of this process from :meth:`begin` until its
    transaction commits, rolls back or the connection closes."""

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self._file_lock = _lock_for(database, kwargs.get("uri", False))
        self._holding = False
        self._unbegun = False  # begins at its first statement
        self._reading = False  # began deferred, for reads

    def begin_at_first_statement(self) -> None:
        self._unbegun = True

    def before_statement(self, statement: str) -> None:
        if not (self._unbegun or self._reading):
            return
        reads = statement.lstrip()[:6].upper() == "SELECT"
        if self._unbegun:
            self._unbegun = False
            if reads:
                self._reading = True
                self.execute("BEGIN")
            else:
                self.begin()
        elif self._reading and not reads:
            self.commit()
            self.begin()

    def begin(self) -> None:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        if self._file_lock is not None:
            if not self._file_lock.acquire(timeout=LOCK_WAIT_SECONDS):
                raise sqlite3.OperationalError(
                    "database is locked: a transaction of this process kept it "
                    f"{LOCK_WAIT_SECONDS} s")
            self._holding = True
        try:
            self._begin_immediate(deadline)
        except BaseException:
            self._release()
            raise

    def _begin_immediate(self, deadline: float) -> None:
        """``BEGIN IMMEDIATE``, retried in short (green) sleeps while another process holds
        the file's write lock."""
        while True:
            try:
                self.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(POLL_SECONDS)

    def commit(self) -> None:
        self._end(super().commit)

    def rollback(self) -> None:
        self._end(super().rollback)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()

    def _end(self, end) -> None:
        """``end`` the transaction, then give the lock back (a commit that failed, on a full
        disk, leaves the transaction open: its rollback gives it back)."""
        try:
            end()
        finally:
            if not self.in_transaction:
                self._release()

    def _release(self) -> None:
        self._unbegun = self._reading = False
        if self._holding:
            self._holding = False
            self._file_lock.release()


def _lock_for(database, uri: bool):
    """The lock of this process for ``database``; None for a private in-memory database."""
    name = os.fsdecode(database)
    if name in ("", ":memory:") or (uri and "mode=memory" in name):
        return None
    key = name if uri else os.path.realpath(name)
    # Made on first connect, after eventlet's monkey patching (so a green lock there).
    return _file_locks.setdefault(key, threading.Lock())


def _begin(connection):
    driver = connection.connection.driver_connection
    if connection.get_execution_options().get(STATEMENT_AT_A_TIME, False):
        driver.begin_at_first_statement()
        return
    try:
        driver.begin()
    except sqlite3.OperationalError as exc:
        raise OperationalError("BEGIN", None, exc) from exc


def _before_statement(connection, _cursor, statement, _parameters, _context, _executemany):
    try:
        connection.connection.driver_connection.before_statement(statement)
    except sqlite3.OperationalError as exc:
        raise OperationalError(statement, None, exc) from exc
