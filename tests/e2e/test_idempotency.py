"""A client retrying ``POST /tickets`` with the same ``Idempotency-Key`` gets the same ticket."""
import pytest

pytestmark = pytest.mark.e2e


def test_a_retried_create_with_the_same_key_makes_one_ticket(stack):
    api = stack.admin()
    customer = api.post("/api/v1/customers", json={"name": "Retrying Client", "industry": "SVC"}).json()
    body = {"customer_id": customer["id"], "service_type": "presales", "category": "inquiry",
            "title": "Pricing question"}
    headers = {"Idempotency-Key": "client-retry-20261125-0001"}
    first = api.post("/api/v1/tickets", json=body, headers=headers)
    retry = api.post("/api/v1/tickets", json=body, headers=headers)
    fresh = api.post("/api/v1/tickets", json=body)
    assert first.status_code == retry.status_code == fresh.status_code == 201
    assert retry.json()["id"] == first.json()["id"]
    assert fresh.json()["id"] != first.json()["id"]
    listed = api.get("/api/v1/tickets", params={"customer_id": customer["id"]}).json()
    assert listed["total"] == 2
