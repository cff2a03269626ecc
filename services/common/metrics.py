"""Each Nameko service's own Prometheus ``/metrics``, on ``<NAME>_METRICS_PORT``, and a
``/healthz`` there for liveness and readiness probes (it calls nothing: a process whose
event loop answers is alive; Nameko reconnects to the broker by itself).

:class:`ServiceMetrics` is one DependencyProvider every service declares
(``monitoring = ServiceMetrics("ticket", business=metrics.families)``). It measures every
worker of the container — latency and outcome per entrypoint, the events and commands it
consumed — and the outbox relay counts what it published. The figures that live in the
database or the broker (the outbox backlog and the age of its oldest unsent row, the depth
and consumers of the service's queues, the service's business figures) are read by one
background round every ``METRICS_REFRESH_SECONDS``, never by a scrape and never per message:
a scrape only renders what the last round found.

Business figures (tickets by state, open tasks …) are totals of the service's database, so
every replica reports the same values: aggregate them with ``max``, not ``sum``.
"""
import logging
import time
import eventlet
import eventlet.wsgi
from kombu import Connection
from nameko.extensions import DependencyProvider
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app

from services.common.config import settings_from
from services.common.periodic import run_every
from services.common.queues import DEAD_LETTER_QUEUE
from services.common.work import UnitOfWorkProvider

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
OK, REFUSED, ERROR = "ok", "refused", "error"  # refused: an expected error (4xx-like)

def metrics_of(container):
    """The container's :class:`ServiceMetrics`, or None (a test container without one)."""
    return next((dependency for dependency in container.dependencies
                 if isinstance(dependency, ServiceMetrics)), None)


def count_dead_letter(container, consumer: str) -> None:
    """One message ``consumer`` refused was dead-lettered."""
    metrics = metrics_of(container)
    if metrics is not None:
        metrics.instruments.dead_letters.labels(metrics.service, consumer).inc()


class Instruments:
    """The metric objects of one service, in a registry of its own (several containers may
    share a test process)."""

    def __init__(self):
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self.handler_latency = Histogram(
            "deskflow_handler_duration_seconds",
            "Time a service's workers took, by entrypoint and outcome (ok, refused: an "
            "expected error, error).", ["service", "entrypoint", "outcome"],
            buckets=LATENCY_BUCKETS, registry=registry)
        self.handler_errors = Counter(
            "deskflow_handler_errors", "Workers that failed with an unexpected error.",
            ["service", "entrypoint", "error"], registry=registry)
        self.consumed = Counter(
            "deskflow_events_consumed", "Events (and commands) a service's handlers took.",
            ["service", "source", "type"], registry=registry)
        self.published = Counter(
            "deskflow_events_published", "Events a service's outbox published.",
            ["service", "type"], registry=registry)
        self.dead_letters = Counter(
            "deskflow_dead_lettered", "Messages a service's consumers sent to the "
            "deskflow.dead-letter queue.", ["service", "consumer"], registry=registry)
        self.outbox_backlog = Gauge(
            "deskflow_outbox_unsent", "Outbox rows not yet published.", ["service"],
            registry=registry)
        self.outbox_age = Gauge(
            "deskflow_outbox_oldest_unsent_age_seconds",
            "Age of the oldest unpublished outbox row (0 when none).", ["service"],
            registry=registry)
        self.queue_messages = Gauge(
            "deskflow_queue_messages", "Messages ready in a queue the service consumes.",
            ["service", "queue"], registry=registry)
        self.queue_consumers = Gauge(
            "deskflow_queue_consumers", "Consumers of a queue the service consumes.",
            ["service", "queue"], registry=registry)
        self.refreshed = Gauge(
            "deskflow_metrics_refreshed_timestamp_seconds",
            "When the service last read its database and broker figures.", ["service"],
            registry=registry)


class _Snapshot:
    """A collector yielding the metric families the last refresh round made."""

    def __init__(self):
        self.families = []

    def collect(self):
        return list(self.families)


def consumed_event(entrypoint) -> tuple[str, str] | None:
    """``(source, type)`` of an event or command handler; None for other entrypoints."""
    if getattr(entrypoint, "event_type", None):
        return entrypoint.source_service, entrypoint.event_type
    if getattr(entrypoint, "command_type", None):
        return "commands", entrypoint.command_type
    return None


def outcome_of(entrypoint, exc_info) -> str:
    if exc_info is None:
        return OK
    expected = getattr(entrypoint, "expected_exceptions", ()) or ()
    return REFUSED if isinstance(exc_info[1], expected) else ERROR


class ServiceMetrics(DependencyProvider):
    """Measures the container's workers and serves ``/metrics`` on the service's port.

    ``business(session, now)``, when given, returns the service's own Prometheus metric families
    (``prometheus_client.core.*MetricFamily``) read from its database; it runs in the
    refresh round.
    """

    def __init__(self, name: str, business=None, **kwargs):
        super().__init__(**kwargs)
        self.name = name
        self.business = business
        self.started = {}

    def setup(self):
        settings = settings_from(self.container.config)
        self.service = self.container.service_name
        self.port = settings.metrics_ports.get(self.name, 0)
        self.host = settings.metrics_host
        self.interval = settings.metrics_refresh_seconds
        self.amqp_uri = settings.amqp_uri
        self.instruments = Instruments()
        self.snapshot = _Snapshot()
        self.instruments.registry.register(self.snapshot)
        self.listener = None
        self.connection = None
        self.running = False

    def start(self):
        self.unit_of_work = next((dependency for dependency in self.container.dependencies
                                  if isinstance(dependency, UnitOfWorkProvider)), None)
        if self.unit_of_work is not None:
            self.unit_of_work.relay.observers.append(self.count_published)
        self.queues = sorted({queue.name for queue in self._consumed_queues()}
                             | {DEAD_LETTER_QUEUE.name})
        self.running = True
        if self.port:
            self._serve()
        self.container.spawn_managed_thread(self._refresh_forever)

    def _serve(self):
        try:
            self.listener = eventlet.listen((self.host, self.port))
        except OSError as exc:
            log.error("metrics: cannot listen on %s:%s (%s); /metrics is off", self.host,
                      self.port, exc)
            return
        metrics = make_wsgi_app(self.instruments.registry)

        def app(env, start_response):
            if env.get("PATH_INFO") == "/healthz":  # for probes: answering is the signal
                start_response("200 OK", [("Content-Type", "application/json")])
                return [b'{"status": "ok"}']
            return metrics(env, start_response)

        self.container.spawn_managed_thread(lambda: eventlet.wsgi.server(
            self.listener, app, log_output=False, socket_timeout=30))
        log.info("metrics: http://%s:%s/metrics", self.host, self.port)

    def stop(self):
        self._close()

    def kill(self):
        self._close()

    def _close(self):
        self.running = False
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    # -- per worker: a dictionary write at the start, two label look-ups at the end ----------
    def worker_setup(self, worker_ctx):
        self.started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        started = self.started.pop(worker_ctx, None)
        if started is None:
            return
        entrypoint = worker_ctx.entrypoint
        name = entrypoint.method_name
        outcome = outcome_of(entrypoint, exc_info)
        self.instruments.handler_latency.labels(self.service, name, outcome).observe(
            time.perf_counter() - started)
        if outcome == ERROR:
            self.instruments.handler_errors.labels(
                self.service, name, type(exc_info[1]).__name__).inc()
        event = consumed_event(entrypoint)
        if event is not None:
            taken = getattr(entrypoint, "consumed", None)  # a batch handler counts its events
            self.instruments.consumed.labels(self.service, *event).inc(
                1 if taken is None else taken(worker_ctx, exc_info))

    def worker_teardown(self, worker_ctx):
        self.started.pop(worker_ctx, None)

    def count_published(self, rows) -> None:
        for row in rows:
            self.instruments.published.labels(self.service, row.event_type).inc()

    # -- the refresh round ----------------------------------------------------------------
    def _refresh_forever(self):
        """The rounds, until the container stops (or kills this thread); the broker
        connection is closed here, by the thread that reads on it, never under a round."""
        try:
            self.refresh()
            run_every(self.interval, self.refresh, lambda: self.running, eventlet.sleep,
                      f"{self.service} metrics refresh")
        finally:
            if self.connection is not None:
                self.connection.release()
                self.connection = None

    def refresh(self) -> None:
        """Read the database and broker figures once (each part on its own: a broker
        outage leaves the database figures fresh)."""
        for part in (self._refresh_outbox, self._refresh_queues, self._refresh_business):
            try:
                part()
            except Exception:
                log.warning("metrics: %s failed", part.__name__, exc_info=True)
        self.instruments.refreshed.labels(self.service).set(time.time())

    def _refresh_outbox(self):
        if self.unit_of_work is None:
            return
        unsent, oldest_age = self.unit_of_work.relay.backlog()
        self.instruments.outbox_backlog.labels(self.service).set(unsent)
        self.instruments.outbox_age.labels(self.service).set(oldest_age)

    def _refresh_queues(self):
        """A passive declare per queue on one kept connection: depth and consumers."""
        if self.connection is None:
            self.connection, self.channel = Connection(self.amqp_uri, connect_timeout=5), None
        connection = self.connection
        try:
            for queue in self.queues:
                if self.channel is None:
                    self.channel = connection.channel()
                try:
                    _, messages, consumers = self.channel.queue_declare(queue=queue,
                                                                        passive=True)
                except connection.channel_errors:  # not declared (yet): no figure
                    # The broker closed the channel; py-amqp reopens it at once, so keep
                    # that one: a new channel each round would leave the reopened one behind
                    # (the dead-letter queue, declared by the first dead letter, was missing
                    # every round: thousands of idle channels a day, each costing the broker).
                    if not getattr(self.channel, "is_open", False):
                        self.channel = None
                    continue
                self.instruments.queue_messages.labels(self.service, queue).set(messages)
                self.instruments.queue_consumers.labels(self.service, queue).set(consumers)
        except connection.connection_errors:
            connection.release()
            self.connection = None
            raise

    def _refresh_business(self):
        if self.business is None or self.unit_of_work is None:
            return
        with self.unit_of_work.session_factory() as session:
            self.snapshot.families = list(self.business(session, self.unit_of_work.clock.now()))

    def _consumed_queues(self):
        for entrypoint in self.container.entrypoints:
            queue = getattr(entrypoint, "queue", None)
            if queue is None:
                queue = getattr(getattr(entrypoint, "rpc_consumer", None), "queue", None)
            if queue is not None:
                yield queue
