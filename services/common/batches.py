"""Consuming events a batch at a time: one worker, one transaction, one dedup statement and
one round of acks for many deliveries, instead of one of each per event.

Contract of a method decorated with :func:`consume_event_batch` (or
:func:`consume_event_batches`):

- It receives ``payloads``: a non-empty list of decoded event bodies from one queue, in
  delivery order, and nothing else. A batch of one is normal (low volume, and the fallback
  below), so the method must treat ``[payload]`` like any other list.
- It applies the whole list in **one transaction**, or raises and leaves nothing applied.
  It deduplicates every event on its id itself (``UnitOfWork.claim_many`` or an insert
  of its own with ``ON CONFLICT DO NOTHING``): a list may hold an event applied before, or
  the same event twice, and each must take effect once.
- An event it cannot take (undecodable envelope, invalid data) makes it raise; it must not
  skip the event silently.

Batching: deliveries are buffered per queue, by the consumer's own thread (no thread per
delivery). The buffer is handed to a worker as soon as it holds ``size`` messages; otherwise
when no batch of the handler is being applied, at once (what arrived in the same read of
the connection goes together), else as soon as the batches being applied are done. So a
lone event waits for nothing and no timer runs, and under load a batch is whatever arrived
while the one before was applied: the batches grow with the rate, up to ``size``. (The
fixed 5 ms wait it replaces gathered a second event only above about 200 events a second
on a queue, and cost every event below that the wait and a wake-up of the event loop, and
every delivery a thread of its own.) ``wait_ms`` (default 0)
delays each hand-over by that long to let a burst gather. The consumer's prefetch is twice
the largest batch size, so the next batch fills while one runs. Both are per handler,
``CONSUMER_BATCH_SIZE`` and ``CONSUMER_BATCH_WAIT_MS`` in the Nameko config override them
for every batch handler of a container. The worker runs with the context data
(``nameko.*`` headers: request id, actor…) that every message of the batch shares; a
handler whose use case reads some of it per event names those keys (``same=("actor",)``)
and gets its batch cut into runs of consecutive messages that agree on them, a worker each.

Outcome: when the worker returns, every message of the batch is acked. When it raises, each
message of the batch runs again alone (``[payload]``) in a worker of its own, through the
per-message path of :class:`~services.common.consumers.DeadLettering`: a transient failure
is retried a bounded number of times, anything else is dead-lettered with its reason, so a
poison message ends up alone in ``deskflow.dead-letter`` while the rest apply. A batch of
one is already that path. Metrics count events, not batches: a batch that succeeded counts
its size, one that fell back counts nothing (its messages count when they run alone).

Nothing is lost or applied twice across broker restarts, consumer cancels and container
stops: a message is acked only after the transaction that applied it committed, an unacked
one comes back from the broker, and the method's dedup makes the repeat a no-op. Stopping
the container first runs what is buffered.
"""
import logging
from functools import partial

import eventlet
from nameko.containers import ContainerBeingKilled
from nameko.events import EventHandler

from services.common.consumers import DeadLettering, consume_events
from services.common.dead_letters import ScreeningQueueConsumer

log = logging.getLogger(__name__)

BATCH_SIZE = 50
BATCH_WAIT_MS = 0.0


class BatchQueueConsumer(ScreeningQueueConsumer):
    """The batch handlers' own connection and channel, with a prefetch large enough for two
    batches of the largest handler (the per-message consumers keep ``max_workers``)."""

    @property
    def prefetch_count(self):
        return max([self.container.max_workers]
                   + [provider.prefetch_count for provider in self._providers])

    def handle_message(self, provider, body, message):
        """In the consumer's thread: the handler only buffers the delivery (Nameko spawns a
        thread per delivery to run a worker, which may wait for a free slot)."""
        provider.handle_message(body, message)


class BatchEventHandler(DeadLettering, EventHandler):
    """Handles the events of one queue a batch at a time; see the module for the contract."""

    queue_consumer = BatchQueueConsumer()

    def __init__(self, source_service, event_type, size=BATCH_SIZE, wait_ms=BATCH_WAIT_MS,
                 same=(), **kwargs):
        super().__init__(source_service, event_type, **kwargs)
        self.size, self.wait_ms, self.same = size, wait_ms, tuple(same)

    def setup(self):
        config = self.container.config
        self.size = max(1, int(config.get("CONSUMER_BATCH_SIZE", self.size)))
        self.wait = float(config.get("CONSUMER_BATCH_WAIT_MS", self.wait_ms)) / 1000
        self.prefetch_count = 2 * self.size
        self.buffer = []
        self.applying = 0  # workers of this handler under way
        self.handing_over = False  # a thread is about to take the buffer
        super().setup()

    def handle_message(self, body, message):
        """Buffers a delivery, in the consumer's thread (:class:`BatchQueueConsumer`): a full
        buffer goes to a worker at once, a buffer begun while nothing is applied as soon as
        the consumer has taken what it has read."""
        self.buffer.append((body, message))
        if len(self.buffer) >= self.size:
            self.container.spawn_managed_thread(partial(self._run, self._take()))
        elif not self.applying:
            self._hand_over()

    def _hand_over(self) -> None:
        if not self.handing_over:
            self.handing_over = True
            self.container.spawn_managed_thread(self._take_and_run)

    def _take_and_run(self) -> None:
        if self.wait:
            eventlet.sleep(self.wait)
        self.handing_over = False
        self._run(self._take())

    def _applied(self) -> None:
        """A worker's transaction is over: what arrived meanwhile goes next."""
        self.applying -= 1
        if not self.applying and self.buffer:
            self._hand_over()

    def stop(self):
        super().stop()  # no more deliveries
        if self.buffer:
            self._run(self._take())

    def _take(self) -> list:
        buffer, self.buffer = self.buffer, []
        return buffer

    def _run(self, deliveries: list) -> None:
        for run in self._runs(deliveries):
            self._run_together(run)

    def _runs(self, deliveries: list) -> list[list]:
        """The deliveries in runs of consecutive ones that agree on the ``same`` context keys
        (all of them in one run when there are none)."""
        runs, last = [], None
        for delivery in deliveries:
            headers = self.unpack_message_headers(delivery[1])
            key = tuple(headers.get(name) for name in self.same)
            if runs and key == last:
                runs[-1].append(delivery)
            else:
                runs.append([delivery])
            last = key
        return runs

    def _run_together(self, deliveries: list) -> None:
        if len(deliveries) == 1:
            self._alone(*deliveries[0])
            return
        headers = [self.unpack_message_headers(message) for _, message in deliveries]
        shared = {key: value for key, value in headers[0].items()
                  if all(other.get(key) == value for other in headers[1:])}
        self.applying += 1
        try:
            self.container.spawn_worker(
                self, ([body for body, _ in deliveries],), {}, context_data=shared,
                handle_result=partial(self.handle_batch_result, deliveries))
        except ContainerBeingKilled:
            for _, message in deliveries:
                self.queue_consumer.requeue_message(message)

    def _alone(self, body, message) -> None:
        """The per-message path: a worker for ``[body]`` whose outcome
        :meth:`DeadLettering.handle_result` acks, retries or dead-letters."""
        self.applying += 1
        super().handle_message([body], message)

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        self._applied()  # before a retry's pause: the queue's other events go on meanwhile
        return super().handle_result(message, worker_ctx, result, exc_info)

    def handle_batch_result(self, deliveries, worker_ctx, result=None, exc_info=None):
        self._applied()
        if exc_info is None:
            for _, message in deliveries:
                self.queue_consumer.ack_message(message)
        else:
            log.warning("a batch of %d from %s failed (%s); running its messages one by one",
                        len(deliveries), self.queue.name, exc_info[1])
            # Not from this worker: its slot in the pool must be free for the ones it starts.
            self.container.spawn_managed_thread(partial(self._one_by_one, deliveries))
        return result, exc_info

    def _one_by_one(self, deliveries: list) -> None:
        for body, message in deliveries:
            self._alone(body, message)

    def consumed(self, worker_ctx, exc_info) -> int:
        """How many events ``worker_ctx`` took, for the metrics: a failed batch of several
        counts none, since its messages count again when they run alone."""
        taken = len(worker_ctx.args[0])
        return taken if taken == 1 or exc_info is None else 0


consume_event_batch = BatchEventHandler.decorator


def consume_event_batches(contract: dict, **options):
    """Handle every event of ``contract`` (``{source: (event type, ...)}``) a batch at a time
    with the decorated method, one durable queue per type; ``options``: ``size``,
    ``wait_ms``."""
    return consume_events(contract, partial(consume_event_batch, **options))
