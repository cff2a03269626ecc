import pytest

pytestmark = pytest.mark.e2e


def test_login_and_create_customer(stack):
    api = stack.admin()
    response = api.post("/api/v1/customers", json={"name": "Smoke Co", "industry": "GOV"})
    assert response.status_code == 201, response.text
    assert response.json()["id"].endswith("-GOV-001")
