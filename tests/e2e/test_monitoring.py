"""Monitoring proven against the running system: a real Prometheus, configured from
deploy/prometheus (its scrape jobs pointed at the shared stack's metrics ports, its alert
rules loaded), scrapes every process while the test drives traffic and an SLA breach, and
its HTTP API gives back a gateway latency quantile, a ticket-service handler series, the SLA
breach counter and the breach alert. The Grafana dashboard and the alert rules name only
metrics the processes export, as a live scrape of each process shows."""
import json
import math
import uuid
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from services.common.config import METRICS_PORTS
from tests.support.customers import customer_payload
from tests.support.prometheus import metric_names, running_prometheus
from tests.support.stack import open_breaching_ticket
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/dashboards/deskflow.json"
RULES = ROOT / "deploy/prometheus/rules.yml"
JOBS = 6  # the gateway and five services
SCRAPED_SERIES = {"up"}  # Prometheus records it for every target; no process exports it
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum"),
            "summary": ("_count", "_sum")}
DEADLINE_SECONDS = 60


@pytest.fixture(scope="module")
def prometheus(stack, tmp_path_factory):
    with running_prometheus(stack, tmp_path_factory.mktemp("prometheus")) as running:
        yield running


def one_value(prometheus, expr: str) -> float | None:
    values = list(prometheus.values(expr).values())
    return values[0] if values else None


def test_prometheus_reads_latency_handler_series_and_sla_breaches(stack, prometheus):
    up = wait_until(lambda: (lambda found: found if len(found) == JOBS else None)(
        prometheus.values('up{job=~"deskflow-.*"} == 1')), timeout=DEADLINE_SECONDS,
        message="Prometheus does not scrape every process")
    assert {dict(labels)["job"] for labels in up} == {
        "deskflow-gateway", "deskflow-customers", "deskflow-tickets", "deskflow-notifications",
        "deskflow-reporting", "deskflow-workflow"}

    breaches = 'max(deskflow_sla_breaches_total{clock="first_response"})'
    before = wait_until(lambda: prometheus.values(breaches), timeout=DEADLINE_SECONDS,
                        message="no breach counter in Prometheus")
    before = next(iter(before.values()))
    admin = stack.admin()
    customer = admin.post("/api/v1/customers", json=customer_payload(
        name=f"Watched {uuid.uuid4().hex[:8]}", industry="RETAIL")).json()
    ticket = open_breaching_ticket(admin, customer["id"], target_seconds=2)
    # The reads are timed once Prometheus holds the series of a first one, so the window's
    # increase counts them (a series' first sample is no increase: the quantile is NaN).
    listing = {"customer_id": customer["id"]}
    assert admin.get("/api/v1/tickets", params=listing).status_code == 200
    wait_until(lambda: one_value(prometheus, 'deskflow_http_request_duration_seconds_count'
                                             '{route="/api/v1/tickets", method="GET"}'),
               timeout=DEADLINE_SECONDS, message="no gateway latency series")
    for _ in range(5):
        assert admin.get(f"/api/v1/tickets/{ticket['id']}").status_code == 200
        assert admin.get("/api/v1/tickets", params=listing).status_code == 200

    latency = ('histogram_quantile(0.95, sum by (le, route) (increase('
               'deskflow_http_request_duration_seconds_bucket{route="/api/v1/tickets"}[5m])))')

    def p95_seen():
        value = one_value(prometheus, latency)
        return value if value is not None and not math.isnan(value) else None

    p95 = wait_until(p95_seen, timeout=DEADLINE_SECONDS, message="no gateway latency quantile")
    assert 0 < p95 < math.inf

    handled = ('deskflow_handler_duration_seconds_count'
               '{job="deskflow-tickets", service="tickets", entrypoint="create", outcome="ok"}')
    assert wait_until(lambda: one_value(prometheus, handled), timeout=DEADLINE_SECONDS,
                      message="no ticket-service handler series") >= 1

    wait_until(lambda: (one_value(prometheus, breaches) or 0) >= before + 1,
               timeout=DEADLINE_SECONDS, message="Prometheus did not see the breach")

    def breach_alert():
        return [alert for alert in prometheus.alerts()
                if alert["labels"]["alertname"] == "DeskflowSlaBreaches"
                and alert["labels"].get("clock") == "first_response" and alert["state"] == "firing"]

    assert wait_until(breach_alert, timeout=DEADLINE_SECONDS, message="the breach alert did not fire")


def exported_metric_names(stack) -> set[str]:
    """Every series name the processes' /metrics declare, with the suffixes of its type."""
    names = set()
    for process in METRICS_PORTS:
        for family in text_string_to_metric_families(stack.scrape(process)):
            names |= {sample.name for sample in family.samples}
            names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def test_the_dashboard_and_the_alerts_name_only_exported_metrics(stack, prometheus):
    stack.admin().get("/api/v1/customers")  # the gateway's histograms have a series
    exported = exported_metric_names(stack) | SCRAPED_SERIES
    expressions = dashboard_expressions() + rule_expressions()
    unknown = {expr: sorted(metric_names(expr) - exported) for expr in expressions
               if metric_names(expr) - exported}
    assert unknown == {}
    for expr in expressions:  # and Prometheus evaluates each of them
        prometheus.query(expr.replace("$__rate_interval", "1m"))

    shown = set().union(*map(metric_names, dashboard_expressions()))
    assert {  # what an operator looks for on the dashboard
        "deskflow_http_request_duration_seconds_count",  # request rate, error ratio
        "deskflow_http_request_duration_seconds_bucket",  # latency percentiles by route
        "deskflow_tickets", "deskflow_sla_breaches_total", "deskflow_sla_cycles_total",
        "deskflow_open_tickets_older_than",  # backlog ageing
        "deskflow_queue_messages", "deskflow_queue_consumers",  # depth, consumer lag
        "deskflow_outbox_oldest_unsent_age_seconds", "deskflow_dead_lettered_total",
    } <= shown
