"""Every POST safe to retry: the answer to a request is kept under the client's
``Idempotency-Key`` (scoped to the user who sent it) for 24 hours.

Plain code over the gateway's database; :mod:`gateway.api.endpoint` applies it to every
endpoint declared idempotent (every authenticated POST), so a new endpoint needs nothing.

A key is claimed by inserting its row ``in_flight`` (the primary key refuses a second
claim); the answer is stored and the row marked ``done``. A repeat with the same request
gets the stored answer; a repeat with another request is 422 ``idempotency_key_reused``; a
repeat while the first is still running waits briefly, then is 409 ``in_progress``. An
answer of 5xx is not kept: the client's retry runs again, and the service recognises it by
the key the request carries (:func:`service_key`), so a change is still made once.

A claim names the gateway process that made it (host, pid and the process's start time):
a repeat finding it in flight takes it over at once when that process is known to be gone
(same host, no such process), and otherwise once it is older than ``abandoned_after``.

Ending a claim (its answer, or its release after a 5xx) is retried for a few seconds while
the gateway's database cannot be reached: a claim left in flight would hold the key, and
answer every retry 409 ``in_progress``, until it counts as abandoned.
"""
import hashlib
import json
import os
import re
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from gateway.models import IdempotentRequest
from services.common.errors import InProgress, KeyReused, ValidationFailed

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{8,128}$")  # 8–128 visible ASCII characters
RETENTION = timedelta(hours=24)
IN_FLIGHT, DONE = "in_flight", "done"
WAIT_POLL_SECONDS = 0.05
SETTLE_SECONDS = 10.0  # how long ending a claim waits for an unreachable database
SETTLE_POLL_SECONDS = 0.2


def _started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot), or None if there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, after the command's parentheses


_named: dict = {}  # this process's name, with the pid it was made for


def this_process() -> str:
    """``host:pid:start``: names this process, and no process that reuses its pid later.
    Read from ``/proc`` once per process (a forked worker has a pid of its own), not for
    every claim."""
    pid = os.getpid()
    if _named.get("pid") != pid:
        _named.update(pid=pid, name=f"{socket.gethostname()}:{pid}:{_started(pid)}")
    return _named["name"]


def is_gone(claimant: str | None) -> bool:
    """True when ``claimant`` was a process of this host that no longer runs; a process of
    another host, or an unnamed one, is never known to be gone."""
    if not claimant or claimant.count(":") < 2:
        return False
    host, pid, started = claimant.rsplit(":", 2)
    if host != socket.gethostname() or not pid.isdigit() or started == "None":
        return False
    return _started(int(pid)) != started


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    headers: dict


def check_key(key: str) -> str:
    if not KEY_PATTERN.match(key):
        raise ValidationFailed(f"{HEADER}: 8 to 128 visible ASCII characters.",
                               {"fields": {HEADER: ["8 to 128 visible ASCII characters."]}})
    return key


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    """What makes two requests the same: method, path, query and body (JSON compared as
    data, so key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, canonical):
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def service_key(user: str, key: str, fingerprint: str) -> str:
    """The key sent to the service: one per (user, client key, request), so two users' keys
    never meet and a key reused for another request after a 5xx is another request."""
    return hashlib.sha256(f"{user}\n{key}\n{fingerprint}".encode()).hexdigest()


def _claim(insert):
    return (insert(_TABLE).on_conflict_do_nothing(index_elements=["username", "key"])
            .returning(_TABLE.c.key))


# Built once, executed with parameters: a request spends no CPU building statements.
_TABLE = IdempotentRequest.__table__
_IS = (_TABLE.c.username == bindparam("b_user"), _TABLE.c.key == bindparam("b_key"))
_CLAIMS = {"postgresql": _claim(postgresql.insert), "sqlite": _claim(sqlite.insert)}
_ROW = select(_TABLE).where(*_IS)
_FINISH = update(_TABLE).where(*_IS).values(
    state=DONE, status=bindparam("b_status"), body=bindparam("b_body"),
    headers=bindparam("b_headers", type_=_TABLE.c.headers.type))
_RELEASE = delete(_TABLE).where(*_IS)
_TAKE_OVER = update(_TABLE).where(*_IS, _TABLE.c.created_at == bindparam("b_created")).values(
    request_hash=bindparam("b_hash"), state=IN_FLIGHT, status=None, body=None, headers=None,
    created_at=bindparam("b_now"), claimed_by=bindparam("b_claimant"))


class IdempotencyStore:
    def __init__(self, connect, clock, abandoned_after: timedelta,
                 wait_seconds: float = 2.0, sleep=time.sleep,
                 settle_seconds: float = SETTLE_SECONDS):
        """``connect()`` opens a database connection (see
        :func:`gateway.statements.connector`). A row ``in_flight`` longer
        than ``abandoned_after`` (its gateway died mid-call) is taken over by the next
        repeat; a repeat waits up to ``wait_seconds`` for a running first attempt."""
        self.connect = connect
        self.clock = clock
        self.abandoned_after = abandoned_after
        self.wait_seconds = wait_seconds
        self.sleep = sleep
        self.settle_seconds = settle_seconds

    def claim(self, user: str, key: str, fingerprint: str) -> Answer | None:
        """None when this request now owns the key; the first answer when it is a repeat."""
        deadline = time.monotonic() + self.wait_seconds
        while True:
            if self._insert(user, key, fingerprint):
                return None
            row = self._row(user, key)
            if row is None:
                continue  # purged in between
            now = self.clock.now()
            expired = row.created_at <= now - RETENTION
            abandoned = row.state == IN_FLIGHT and (
                row.created_at <= now - self.abandoned_after or is_gone(row.claimed_by))
            if expired or abandoned:
                if self._take_over(row, fingerprint):
                    return None
                continue
            if row.request_hash != fingerprint:
                raise KeyReused(f"This {HEADER} was used for another request in the last 24 hours.",
                                {"header": HEADER})
            if row.state == DONE:
                return Answer(row.status, row.body, row.headers or {})
            if time.monotonic() >= deadline:
                raise InProgress(f"A request with this {HEADER} is still running; retry shortly.",
                                 {"header": HEADER})
            self.sleep(WAIT_POLL_SECONDS)

    def finish(self, user: str, key: str, answer: Answer) -> None:
        self._settle(_FINISH, {"b_user": user, "b_key": key, "b_status": answer.status,
                               "b_body": answer.body, "b_headers": answer.headers})

    def release(self, user: str, key: str) -> None:
        """Forget a claim whose request failed on our side, so a retry runs again."""
        self._settle(_RELEASE, {"b_user": user, "b_key": key})

    def _settle(self, statement, parameters: dict) -> None:
        """Run ``statement``, retrying for ``settle_seconds`` while the database is out."""
        deadline = time.monotonic() + self.settle_seconds
        while True:
            try:
                with self.connect() as connection:
                    connection.execute(statement, parameters)
                    connection.commit()
                return
            except OperationalError:
                if time.monotonic() >= deadline:
                    raise
                self.sleep(SETTLE_POLL_SECONDS)

    def _insert(self, user: str, key: str, fingerprint: str) -> bool:
        """One ``INSERT … ON CONFLICT DO NOTHING``: True when it made the row."""
        with self.connect() as connection:
            made = connection.execute(_CLAIMS[connection.dialect.name], {
                "username": user, "key": key, "request_hash": fingerprint, "state": IN_FLIGHT,
                "created_at": self.clock.now(), "claimed_by": this_process()}).first()
            connection.commit()
        return made is not None

    def _take_over(self, row, fingerprint: str) -> bool:
        """Restart an expired or abandoned claim, unless another repeat just did."""
        with self.connect() as connection:
            taken = connection.execute(_TAKE_OVER, {
                "b_user": row.username, "b_key": row.key, "b_created": row.created_at,
                "b_hash": fingerprint, "b_now": self.clock.now(),
                "b_claimant": this_process()}).rowcount
            connection.commit()
        return taken == 1

    def _row(self, user: str, key: str):
        with self.connect() as connection:
            return connection.execute(_ROW, {"b_user": user, "b_key": key}).first()


def expiring_column():
    """For the gateway's purge round: answers older than :data:`RETENTION` go."""
    return IdempotentRequest.created_at, RETENTION


