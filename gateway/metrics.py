"""Prometheus metrics of the gateway: HTTP and RPC latency, the events its outbox published
(user and session events), and the dead letters waiting.

They are served on their own port (``GATEWAY_METRICS_PORT``), not on the public API: the
gunicorn master serves the figures of all its workers, which write them to
``PROMETHEUS_MULTIPROC_DIR`` (``gateway/gunicorn.conf.py``).
"""
import logging

from prometheus_client import (
    CollectorRegistry, Counter, Histogram, multiprocess, start_http_server,
)

from gateway.dead_letters import DeadLetterBox, DeadLetterCollector
from services.common.config import Settings
from services.common.metrics import LATENCY_BUCKETS

log = logging.getLogger(__name__)

DEAD_LETTER_COUNT_TIMEOUT_SECONDS = 3

HTTP_LATENCY = Histogram(
    "deskflow_http_request_duration_seconds", "HTTP request latency by route template.",
    ["route", "method", "status"], buckets=LATENCY_BUCKETS)
RPC_LATENCY = Histogram(
    "deskflow_rpc_duration_seconds", "RPC latency from the gateway by service and method.",
    ["service", "method", "outcome"], buckets=LATENCY_BUCKETS)

EVENTS_PUBLISHED = Counter(
    "deskflow_events_published", "Events a service's outbox published.", ["service", "type"])


def count_published(rows) -> None:
    """An outbox relay observer: the gateway's published events, by type."""
    for row in rows:
        EVENTS_PUBLISHED.labels("gateway", row.event_type).inc()


def observe_rpc(service: str, method: str, outcome: str, seconds: float) -> None:
    RPC_LATENCY.labels(service, method, outcome).observe(seconds)


def exporter_registry(settings: Settings) -> CollectorRegistry:
    """Every worker's figures (from ``PROMETHEUS_MULTIPROC_DIR``) and the dead-letter count."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(DeadLetterCollector(
        DeadLetterBox(settings.amqp_uri, DEAD_LETTER_COUNT_TIMEOUT_SECONDS,
                      settings.amqp_queue_type)))
    return registry


def serve(settings: Settings):
    """Serve ``/metrics`` on ``GATEWAY_METRICS_PORT`` (0: not at all) from a thread."""
    port = settings.metrics_ports["gateway"]
    if not port:
        return None
    server, _ = start_http_server(port, addr=settings.metrics_host,
                                  registry=exporter_registry(settings))
    log.info("metrics: http://%s:%s/metrics", settings.metrics_host, port)
    return server
