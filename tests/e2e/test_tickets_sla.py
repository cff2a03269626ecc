"""A real breach through the gateway: a complaint left alone past a first-response target of
a few seconds is swept, escalated, listed under ``breached=true`` and counted on the ticket
service's /metrics."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.customers import customer_payload
from tests.support.stack import open_breaching_ticket
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

FIRST_RESPONSE_TARGET = 3
DEADLINE_SECONDS = 60


def breaches(stack, clock: str) -> float:
    text = stack.scrape("ticket")
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "deskflow_sla_breaches_total" and sample.labels == {"clock": clock}:
                return sample.value
    raise AssertionError("no deskflow_sla_breaches_total sample for " + clock)


def test_a_neglected_complaint_breaches_and_is_escalated(stack):
    admin = stack.admin()
    customer = admin.post("/api/v1/customers", json=customer_payload(
        name="Angry Customer Co", industry="RETAIL")).json()
    before = breaches(stack, "first_response")
    ticket = open_breaching_ticket(admin, customer["id"], FIRST_RESPONSE_TARGET)

    path = f"/api/v1/tickets/{ticket['id']}"

    def escalated():
        found = admin.get(path).json()
        return found if found["escalated"] else None

    ticket = wait_until(escalated, timeout=DEADLINE_SECONDS, interval=0.5, message="no breach")
    assert ticket["sla"]["first_response"]["status"] == "breached"
    assert ticket["sla"]["resolution"]["status"] == "running"

    listed = admin.get("/api/v1/tickets", params={"breached": "true"}).json()
    assert ticket["id"] in [item["id"] for item in listed["items"]]
    wait_until(lambda: breaches(stack, "first_response") >= before + 1, timeout=DEADLINE_SECONDS,
               interval=0.5, message="the breach is not counted")
    assert 'deskflow_tickets{state="pending"}' in stack.scrape("ticket")
