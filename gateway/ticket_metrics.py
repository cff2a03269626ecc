"""Ticket figures for ``/metrics``, asked of the ticket service at scrape time.

The ticket service's database is the source of truth, so the figures agree across gateway
workers and restarts: tickets by state (a gauge), SLA warnings and breaches by clock
(counters: every alert ever raised), and the first-response and resolution time
distributions (histograms over every ended clock cycle).
"""
import logging

from nameko.exceptions import RemoteError
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from services.common.errors import DeskflowError

log = logging.getLogger(__name__)


class TicketMetricsCollector:
    def __init__(self, rpc_pool):
        self.rpc_pool = rpc_pool

    def collect(self):
        try:
            figures = self.rpc_pool.call("tickets", "metrics", context={})
        except (DeskflowError, RemoteError) as exc:
            log.warning("ticket metrics unavailable: %s", exc)
            return
        yield from families(figures)


def families(figures: dict):
    """Prometheus metric families from the ticket service's ``metrics`` answer."""
    states = GaugeMetricFamily("deskflow_tickets", "Tickets by state.", labels=["state"])
    for state, number in figures["tickets_by_state"].items():
        states.add_metric([state], number)
    yield states
    for key, name, text in (("sla_warnings", "deskflow_sla_warnings", "SLA warnings (80%) by clock."),
                            ("sla_breaches", "deskflow_sla_breaches", "SLA breaches by clock.")):
        counter = CounterMetricFamily(name, text, labels=["clock"])
        for clock, number in figures[key].items():
            counter.add_metric([clock], number)
        yield counter
    for key, text in (("first_response_seconds", "Time to first response."),
                      ("resolution_seconds", "Time to resolution.")):
        yield _histogram(f"deskflow_ticket_{key}", text, figures[key])


def _histogram(name: str, text: str, figures: dict) -> HistogramMetricFamily:
    buckets = [(str(float(bound)), number) for bound, number in figures["buckets"]]
    buckets.append(("+Inf", figures["count"]))
    return HistogramMetricFamily(name, text, buckets=buckets, sum_value=figures["sum"])
