"""A real breach through the gateway: a complaint left alone past a first-response target of
a few seconds is swept, escalated, listed under ``breached=true`` and counted on /metrics."""
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.stack import running_stack

pytestmark = pytest.mark.e2e

FIRST_RESPONSE_TARGET = 3
DEADLINE_SECONDS = 60


@pytest.fixture(scope="module")
def fast_stack(rabbit_manager, databases, tmp_path_factory):
    """A stack of its own (this test changes the policy) that sweeps every second."""
    with running_stack(rabbit_manager, databases, tmp_path_factory.mktemp("sla"),
                       SLA_SWEEP_SECONDS="1") as running:
        yield running


def breaches(stack, clock: str) -> float:
    text = stack.anonymous().get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "deskflow_sla_breaches_total" and sample.labels == {"clock": clock}:
                return sample.value
    raise AssertionError("no deskflow_sla_breaches_total sample for " + clock)


def test_a_neglected_complaint_breaches_and_is_escalated(fast_stack):
    admin = fast_stack.admin()
    policy = admin.get("/api/v1/sla/policy").json()
    policy["first_response"]["complaint"] = FIRST_RESPONSE_TARGET
    assert admin.put("/api/v1/sla/policy", json=policy).status_code == 200
    customer = admin.post("/api/v1/customers", json={"name": "Angry Customer Co",
                                                     "industry": "RETAIL"}).json()
    before = breaches(fast_stack, "first_response")

    created = admin.post("/api/v1/tickets", json={
        "customer_id": customer["id"], "service_type": "aftersales", "category": "complaint",
        "priority": "high", "title": "Nobody answers"})
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert ticket["sla"]["first_response"]["target_seconds"] == FIRST_RESPONSE_TARGET

    deadline = time.monotonic() + DEADLINE_SECONDS
    while not ticket["escalated"]:
        assert time.monotonic() < deadline, f"no breach swept in {DEADLINE_SECONDS}s: {ticket}"
        time.sleep(0.5)
        ticket = admin.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert ticket["sla"]["first_response"]["status"] == "breached"
    assert ticket["sla"]["resolution"]["status"] == "running"

    listed = admin.get("/api/v1/tickets", params={"breached": "true"}).json()
    assert ticket["id"] in [item["id"] for item in listed["items"]]
    assert breaches(fast_stack, "first_response") >= before + 1
    metrics = fast_stack.anonymous().get("/metrics").text
    assert 'deskflow_tickets{state="pending"}' in metrics
