"""Sparing an idle service its polling queries: a background round queries its database
when it knows there may be work (a row it watches was written here, a due time it saw has
come) and otherwise only now and then, for rows another replica wrote."""
import time

from nameko.extensions import DependencyProvider
from sqlalchemy import event
from sqlalchemy.orm import Session, object_session

from services.common.config import settings_from


class CommitWatch:
    """Calls ``on_commit()`` after each commit, in this process, of a session that wrote
    (inserted or updated) a row of one of ``models``, as an object or by an insert or update
    statement run through the session (not through a bare connection; one whose ``WITH``
    clauses write other tables names them in its ``written_tables`` execution option, as
    :func:`services.common.rows.insert_together` does). The write only
    marks the session: a round started before the commit would not see the row."""

    def __init__(self, models, on_commit):
        self.models = tuple(models)
        self.tables = {model.__table__ for model in self.models}
        self.on_commit = on_commit
        self.key = f"deskflow.changed.{id(self)}"  # a session's info key

    def listeners(self):
        return ([(model, name, self._mark) for model in self.models
                 for name in ("after_insert", "after_update")]
                + [(Session, "do_orm_execute", self._mark_statement),
                   (Session, "after_commit", self._after_commit)])

    def start(self) -> None:
        for target, name, listener in self.listeners():
            event.listen(target, name, listener)

    def stop(self) -> None:
        for target, name, listener in self.listeners():
            if event.contains(target, name, listener):
                event.remove(target, name, listener)

    def _mark(self, _mapper, _connection, target) -> None:
        session = object_session(target)
        if session is not None:
            session.info[self.key] = True

    def _mark_statement(self, state) -> None:
        if not (state.is_insert or state.is_update):
            return
        written = {getattr(state.statement, "table", None)}
        written |= state.execution_options.get("written_tables", frozenset())
        if not written.isdisjoint(self.tables):
            state.session.info[self.key] = True

    def _after_commit(self, session) -> None:
        if session.info.pop(self.key, False):
            self.on_commit()


class SweepGate(DependencyProvider):
    """Whether a sweep's round (due SLA clocks, due reminders) needs its queries: a
    :class:`Gate` that a commit of a row of ``models`` in this process opens.

    ``sweep_gate = SweepGate(SlaClock, Ticket)``; the timer's worker calls
    ``self.sweep_gate.run(now, sweep, next_due)``.
    """

    def __init__(self, *models, **kwargs):
        super().__init__(**kwargs)
        self.models = models

    def setup(self):
        self.gate = Gate(settings_from(self.container.config).sweep_idle_check_seconds)
        self.watch = CommitWatch(self.models, self.gate.nudge)

    def start(self):
        self.watch.start()

    def stop(self):
        self.watch.stop()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self.gate


class Gate:
    """``run(now, sweep, next_due)`` runs ``sweep()`` when a watched row was committed since
    the last round (:meth:`nudge`), when ``now`` has reached the earliest due time the last
    round found (``next_due()``, a datetime or None for nothing), or when ``most`` seconds
    have passed since the last round (rows another replica wrote; the first tick is a
    round). Otherwise the tick costs no query. The sweep's own query is unchanged, so what
    it emits, and that it emits it once, is too."""

    def __init__(self, most: float, clock=time.monotonic):
        self.most, self.clock = most, clock
        self.changed, self.checked, self.next_due = True, None, None

    def nudge(self) -> None:
        self.changed = True

    def due(self, now) -> bool:
        return (self.changed or self.checked is None
                or (self.next_due is not None and now >= self.next_due)
                or self.clock() - self.checked >= self.most)

    def run(self, now, sweep, next_due) -> bool:
        """``sweep()`` then note ``next_due()``, if :meth:`due`; whether it ran."""
        if not self.due(now):
            return False
        self.changed = False  # a commit during the round counts for the next one
        self.checked = self.clock()
        try:
            sweep()
            self.next_due = next_due()
        except Exception:
            self.changed = True
            raise
        return True
