"""Tickets through the gateway: the real processes on real RabbitMQ and PostgreSQL."""
import pytest

from tests.support.customers import customer_payload
from tests.support.stack import open_ticket

pytestmark = pytest.mark.e2e


def new_customer(stack, name: str) -> dict:
    response = stack.admin().post("/api/v1/customers", json=customer_payload(
        name=name, industry="SVC", owner="admin"))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def customer(stack):
    return new_customer(stack, "Ticket Flow Co")


@pytest.mark.parametrize("backend", ["stack", "sqlite_stack"])
def test_create_work_reopen_close_and_rate(request, backend):
    """The whole life of a ticket, on PostgreSQL and on the embedded SQLite default."""
    stack = request.getfixturevalue(backend)
    customer = new_customer(stack, f"Ticket Life Co ({backend})")
    api = stack.user("support")
    ticket = open_ticket(api, customer["id"])
    assert ticket["id"].startswith(customer["id"] + "-") and ticket["state"] == "pending"
    assert ticket["owner"] == "admin"
    assert {clock["status"] for clock in ticket["sla"].values()} == {"running"}
    path = f"/api/v1/tickets/{ticket['id']}"

    refused = api.post(path + "/transitions", json={"to": "closed"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"
    assert refused.json()["error"]["details"]["allowed"] == ["in_progress"]

    comment = api.post(path + "/comments", json={"body": "Looking into it", "public": True})
    assert comment.status_code == 201, comment.text
    assert api.get(path).json()["sla"]["first_response"]["status"] == "met"

    assert api.post(path + "/transitions", json={"to": "in_progress"}).status_code == 200
    held = api.post(path + "/hold", json={"reason": "waiting for the customer's logs"})
    assert held.status_code == 200 and held.json()["sla"]["resolution"]["status"] == "paused"
    assert api.post(path + "/resume").json()["on_hold"] is False

    missing = api.post(path + "/transitions", json={"to": "done"})
    assert missing.status_code == 422
    assert set(missing.json()["error"]["details"]["fields"]) == {"solution", "resolution"}
    done = api.post(path + "/transitions", json={"to": "done", "solution": "Reset password",
                                                 "resolution": "resolved"})
    assert done.status_code == 200 and done.json()["state"] == "done"
    assert api.post(path + "/transitions", json={"to": "in_progress"}).status_code == 200
    api.post(path + "/transitions", json={"to": "done", "solution": "Unlocked the account",
                                          "resolution": "resolved"})
    unrated = api.post(path + "/transitions", json={"to": "closed"})
    assert unrated.status_code == 422  # closing needs a rating or a reason
    assert set(unrated.json()["error"]["details"]["fields"]) == {"close_reason"}
    assert api.post(path + "/transitions", json={
        "to": "closed", "close_reason": "customer_unreachable"}).json()["state"] == "closed"

    bad = api.post(path + "/rating", json={"score": 6, "nps_score": 11})
    assert bad.status_code == 422
    assert set(bad.json()["error"]["details"]["fields"]) == {"score", "nps_score"}
    rated = api.post(path + "/rating", json={"score": 5, "nps_score": 10, "comment": "fast"})
    assert rated.status_code == 201, rated.text
    assert api.post(path + "/rating", json={"score": 4}).status_code == 409
    assert api.get(path).json()["rating"]["score"] == 5

    history = api.get(path + "/history").json()
    assert [entry["kind"] for entry in history].count("transition") == 6
    assert {"comment", "hold", "resume", "rating"} <= {entry["kind"] for entry in history}
    assert all(entry["by"] == api.username for entry in history)


def test_unknown_customer_is_422_naming_customer_id(stack):
    response = stack.admin().post("/api/v1/tickets", json={
        "customer_id": "2026-SVC-999", "service_type": "presales", "category": "need",
        "title": "Nobody"})
    assert response.status_code == 422
    assert "customer_id" in response.json()["error"]["details"]["fields"]


def test_list_filters_and_paging(stack, customer):
    api = stack.admin()
    open_ticket(api, customer["id"], priority="high", category="complaint")
    open_ticket(api, customer["id"], priority="low")
    page = api.get("/api/v1/tickets", params={"customer_id": customer["id"], "priority": "high",
                                              "per_page": 1}).json()
    assert page["total"] >= 1 and len(page["items"]) == 1
    assert all(item["priority"] == "high" for item in page["items"])
    assert api.get("/api/v1/tickets", params={"state": "nonsense"}).status_code == 422


def test_policy_round_trip_and_admin_only(stack):
    admin, sales = stack.admin(), stack.user("sales")
    policy = admin.get("/api/v1/sla/policy").json()
    assert policy["first_response"] == {"inquiry": 600, "complaint": 600, "default": 7200}
    assert sales.put("/api/v1/sla/policy", json=policy).status_code == 403
    bad = admin.put("/api/v1/sla/policy", json={**policy, "update": -1})
    assert bad.status_code == 422
    assert admin.put("/api/v1/sla/policy", json=policy).json() == policy
