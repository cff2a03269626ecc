"""Prometheus metrics of the gateway: HTTP and RPC latency, plus collectors that other
parts register (ticket counts, SLA figures) and that are read at scrape time."""
import os

from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client import REGISTRY, CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

HTTP_LATENCY = Histogram(
    "deskflow_http_request_duration_seconds", "HTTP request latency by route template.",
    ["route", "method", "status"], buckets=LATENCY_BUCKETS)
RPC_LATENCY = Histogram(
    "deskflow_rpc_duration_seconds", "RPC latency from the gateway by service and method.",
    ["service", "method", "outcome"], buckets=LATENCY_BUCKETS)


def observe_rpc(service: str, method: str, outcome: str, seconds: float) -> None:
    RPC_LATENCY.labels(service, method, outcome).observe(seconds)


def render(extra_collectors=()) -> tuple[bytes, str]:
    """The exposition text; under several gunicorn workers, all workers' figures summed."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    text = generate_latest(registry)
    for collector in extra_collectors:
        extra = CollectorRegistry()
        extra.register(collector)
        text += generate_latest(extra)
    return text, CONTENT_TYPE_LATEST
