"""GET /reports/churn-risk through the gateway: the customer service answers (the moved-clock
behaviour is tested in tests/integration/test_churn_warning.py); a new high-value customer is
not at risk; sellers read it, support does not; a bad filter is 422."""
import pytest

from tests.support.customers import customer_payload

pytestmark = pytest.mark.e2e


def test_the_churn_risk_list_is_a_page_for_sellers(stack):
    admin = stack.admin()
    fresh = admin.post("/api/v1/customers", json=customer_payload(
        type="deal", deal_amount=900000, deal_product="Cloud suite",
        signed_date="2026-11-01")).json()
    listed = admin.get("/api/v1/reports/churn-risk", params={"value_tier": "high"})
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert set(page) == {"items", "total", "page", "per_page"}
    assert fresh["id"] not in [row["customer_id"] for row in page["items"]]
    amounts = [row["deal_amount"] for row in page["items"]]
    assert amounts == sorted(amounts, reverse=True)
    assert stack.user("sales").get("/api/v1/reports/churn-risk").status_code == 200
    assert stack.user("support").get("/api/v1/reports/churn-risk").status_code == 403
    bad = admin.get("/api/v1/reports/churn-risk", params={"value_tier": "potential"})
    assert bad.status_code == 422
    assert "value_tier" in bad.json()["error"]["details"]["fields"]
