"""The ticket figures as Prometheus families: the exposition text a scrape returns."""
from prometheus_client import CollectorRegistry, generate_latest

from gateway.ticket_metrics import TicketMetricsCollector
from services.common.errors import Unavailable

FIGURES = {
    "tickets_by_state": {"pending": 3, "in_progress": 1, "done": 0, "closed": 2},
    "sla_warnings": {"first_response": 4, "resolution": 1, "update": 0},
    "sla_breaches": {"first_response": 2, "resolution": 0, "update": 0},
    "first_response_seconds": {"count": 3, "sum": 700.0, "buckets": [[60, 1], [600, 2]]},
    "resolution_seconds": {"count": 0, "sum": 0.0, "buckets": [[60, 0], [600, 0]]},
}


class Pool:
    def __init__(self, answer):
        self.answer = answer

    def call(self, service, method, context):
        assert (service, method) == ("tickets", "metrics")
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def scrape(pool) -> str:
    registry = CollectorRegistry()
    registry.register(TicketMetricsCollector(pool))
    return generate_latest(registry).decode()


def test_states_alerts_and_histograms_are_exposed():
    text = scrape(Pool(FIGURES))
    assert 'deskflow_tickets{state="pending"} 3.0' in text
    assert 'deskflow_sla_breaches_total{clock="first_response"} 2.0' in text
    assert 'deskflow_sla_warnings_total{clock="resolution"} 1.0' in text
    assert 'deskflow_ticket_first_response_seconds_bucket{le="600.0"} 2.0' in text
    assert 'deskflow_ticket_first_response_seconds_bucket{le="+Inf"} 3.0' in text
    assert "deskflow_ticket_first_response_seconds_sum 700.0" in text
    assert "deskflow_ticket_resolution_seconds_count 0.0" in text


def test_an_unavailable_ticket_service_leaves_the_scrape_working():
    assert scrape(Pool(Unavailable("down"))).strip() == ""
