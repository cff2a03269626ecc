"""The outbox relay: publishes committed outbox rows to ``<source>.events`` and marks them
sent. The fast path publishes what workers have just committed, in shared batches; a
periodic round marks those rows sent in one statement, then publishes whatever is still
unsent a few seconds after its commit (a crash between commit and publish, a broker
outage), and purges old rows. See :mod:`services.common.outbox`.

Looking for unsent rows is a query per round in every process, most of an idle stack's
database work; the relay makes it only when rows may be unsent: from its start (a process
that died may have left some) and from any failed fast-path publish, until a look made
after the grace period finds none; and otherwise every :data:`LOOK_EVERY_SECONDS`, for rows
another process committed and could not publish (a replica that crashed, a command-line
tool), which are then published up to that much later."""
import logging
import threading
import time
from datetime import timedelta

from nameko.events import get_event_exchange
from sqlalchemy import func, select, update

from services.common.db import purge_before
from services.common.periodic import run_every
from services.common.publishing import BatchPublisher

log = logging.getLogger(__name__)

RELAY_GRACE_SECONDS = 3
RELAY_BATCH = 500
PURGE_EVERY_SECONDS = 60
LOOK_EVERY_SECONDS = 30
SENT_RETENTION = timedelta(days=7)  # published rows are kept this long for inspection


class OutboxRelay:
    """Publishes outbox rows to ``<source>.events`` (routing key: the event type) and marks
    them sent. Used for the fast path after a commit and by the periodic relay."""

    def __init__(self, amqp_uri: str, source: str, session_factory, outbox_model, clock,
                 expiring=()):
        """``expiring``: ``(timestamp column, retention)`` pairs of other tables whose old
        rows each round purges as well (remembered answers to idempotent requests)."""
        self.exchange = get_event_exchange(source, {})
        self.publisher = BatchPublisher(amqp_uri, self.exchange)
        self.session_factory = session_factory
        self.outbox = outbox_model
        self.clock = clock
        self.expiring = ((outbox_model.sent_at, SENT_RETENTION),) + tuple(expiring)
        self.stopped = False
        self.observers = []  # called with the rows each publish sent (metrics count them)
        self._outgoing = []  # committed rows waiting for the fast path's next batch
        self._published = []  # ids the fast path published, not yet marked sent
        self._published_lock = threading.Lock()  # guards both lists
        self._sending = threading.Lock()  # one fast-path batch at a time
        self._purged_at, self._purge_backlog = None, False
        self._suspect_since = clock.now()  # rows may be unsent since then (None: not)
        self._looked_at = None

    def stop(self) -> None:
        self.stopped = True

    def close(self) -> None:
        self.publisher.close()

    def _send(self, rows) -> None:
        self.publisher.publish([(row.envelope, row.event_type, row.headers) for row in rows])
        for observe in self.observers:
            observe(rows)

    def publish(self, rows) -> None:
        self._send(rows)
        self._mark_sent([row.id for row in rows])

    def publish_committed(self, rows) -> None:
        """The fast path: publish now, and leave the rows to be marked sent, with every
        other worker's, in one statement at the start of the relay's next round (no second
        transaction per worker). Workers finishing while a batch is out queue their rows,
        and the first of them to get its turn publishes them all in the next batch, with one
        wait for the broker's confirms; the others find their rows taken and return. When
        this returns, the rows are published or left to the periodic relay (on failure)."""
        with self._published_lock:
            self._outgoing.extend(rows)
        with self._sending:
            with self._published_lock:
                batch, self._outgoing = self._outgoing, []
            if not batch:
                return
            try:
                self._send(batch)
            except Exception:
                log.warning("fast-path publish failed; the outbox relay will retry",
                            exc_info=True)
                self._suspect_since = self.clock.now()
                return
            with self._published_lock:
                self._published.extend(row.id for row in batch)

    def mark_published(self) -> bool:
        """Mark what the fast path published as sent, in one statement. When the database
        cannot be reached, the ids are kept for the next round and False is returned: the
        relay must then not resend those rows, which are still unsent in the table."""
        with self._published_lock:
            ids, self._published = self._published, []
        if not ids:
            return True
        try:
            self._mark_sent(ids)
        except Exception:
            with self._published_lock:
                self._published[:0] = ids
            log.warning("marking %d published rows failed; trying again next round",
                        len(ids), exc_info=True)
            return False
        return True

    def relay_pending(self) -> int:
        """Publish unsent rows older than the grace period; return how many were sent."""
        outbox = self.outbox
        cutoff = self.clock.now() - timedelta(seconds=RELAY_GRACE_SECONDS)
        with self.session_factory() as session:
            due = session.scalars(
                select(outbox).where(outbox.sent_at.is_(None), outbox.created_at <= cutoff)
                .order_by(outbox.created_at).limit(RELAY_BATCH)
            ).all()
        if due:
            self.publish(due)
        return len(due)

    def backlog(self) -> tuple[int, float]:
        """How many rows are unsent, and the age in seconds of the oldest (0 when none)."""
        outbox = self.outbox
        with self.session_factory() as session:
            unsent, oldest = session.execute(
                select(func.count(), func.min(outbox.created_at))
                .where(outbox.sent_at.is_(None))).one()
        if oldest is None:
            return unsent, 0.0
        return unsent, max(0.0, (self.clock.now() - oldest).total_seconds())

    def relay_forever(self, interval: float, sleep) -> None:
        """Relay (and purge) every ``interval`` seconds until :meth:`stop`. The publishing
        connection is opened first, so the first worker to publish does not wait for it."""
        try:
            self.publisher.connect()
        except Exception:
            log.warning("cannot reach the broker yet; publishing will connect later",
                        exc_info=True)
        run_every(interval, self._relay_round, lambda: not self.stopped, sleep, "outbox relay")

    def _relay_round(self) -> None:
        # First mark what the fast path published, so the relay does not send it again.
        if not self.mark_published():
            return
        if self._may_have_unsent():
            self._look()
        # Purging expired rows can wait a minute, unless the last purge left a backlog.
        if self._purged_at is None or self._purge_backlog \
                or time.monotonic() - self._purged_at >= PURGE_EVERY_SECONDS:
            self._purge_backlog = self.purge_expired() >= RELAY_BATCH
            self._purged_at = time.monotonic()

    def _may_have_unsent(self) -> bool:
        return self._suspect_since is not None or self._looked_at is None \
            or time.monotonic() - self._looked_at >= LOOK_EVERY_SECONDS

    def _look(self) -> None:
        """Relay what is due. A look that finds nothing ends the suspicion once every row
        committed before it began is past the grace period (the clock is the one the rows'
        ``created_at`` is stamped with)."""
        now, suspect_since = self.clock.now(), self._suspect_since
        if self.relay_pending() == 0 and suspect_since is not None \
                and now - suspect_since >= timedelta(seconds=RELAY_GRACE_SECONDS) \
                and self._suspect_since == suspect_since:
            self._suspect_since = None
        self._looked_at = time.monotonic()

    def purge_expired(self) -> int:
        """Delete outbox rows published longer than :data:`SENT_RETENTION` ago, and the
        expired rows of the ``expiring`` tables; return how many (one batch of each)."""
        now = self.clock.now()
        return sum(purge_before(self.session_factory, column, now - retention, RELAY_BATCH)
                   for column, retention in self.expiring)

    def _mark_sent(self, ids) -> None:
        with self.session_factory() as session:
            session.execute(update(self.outbox).where(self.outbox.id.in_(ids))
                            .values(sent_at=self.clock.now()))
            session.commit()
