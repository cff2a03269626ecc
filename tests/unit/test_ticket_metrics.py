"""The ticket figures as Prometheus families: the exposition text a scrape returns."""
from prometheus_client import CollectorRegistry, generate_latest

from services.ticket.metrics import to_families

FIGURES = {
    "tickets_by_state": {"pending": 3, "in_progress": 1, "done": 0, "closed": 2},
    "open_older_than": {"1h": 3, "4h": 1, "1d": 0, "3d": 0, "7d": 0},
    "oldest_open_age_seconds": 20000.0,
    "sla_cycles": {"first_response": 6, "resolution": 6, "update": 1},
    "sla_clocks": {"first_response": {"running": 2, "held": 1},
                   "resolution": {"running": 4, "held": 1}, "update": {"running": 0, "held": 0}},
    "sla_warnings": {"first_response": 4, "resolution": 1, "update": 0},
    "sla_breaches": {"first_response": 2, "resolution": 0, "update": 0},
    "first_response_seconds": {"count": 3, "sum": 700.0, "buckets": [[60, 1], [600, 2]]},
    "resolution_seconds": {"count": 0, "sum": 0.0, "buckets": [[60, 0], [600, 0]]},
}


class Snapshot:
    def collect(self):
        return to_families(FIGURES)


def test_states_clocks_alerts_and_histograms_are_exposed():
    registry = CollectorRegistry()
    registry.register(Snapshot())
    text = generate_latest(registry).decode()
    assert 'deskflow_tickets{state="pending"} 3.0' in text
    assert 'deskflow_sla_clocks{clock="resolution",status="held"} 1.0' in text
    assert 'deskflow_open_tickets_older_than{band="4h"} 1.0' in text
    assert "deskflow_oldest_open_ticket_age_seconds 20000.0" in text
    assert 'deskflow_sla_cycles_total{clock="update"} 1.0' in text
    assert 'deskflow_sla_breaches_total{clock="first_response"} 2.0' in text
    assert 'deskflow_sla_warnings_total{clock="resolution"} 1.0' in text
    assert 'deskflow_ticket_first_response_seconds_bucket{le="600.0"} 2.0' in text
    assert 'deskflow_ticket_first_response_seconds_bucket{le="+Inf"} 3.0' in text
    assert "deskflow_ticket_first_response_seconds_sum 700.0" in text
    assert "deskflow_ticket_resolution_seconds_count 0.0" in text
