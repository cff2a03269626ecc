"""The customer archive through the HTTP API, against the real processes on PostgreSQL."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.customers import customer_payload
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def test_twenty_parallel_creations_get_twenty_consecutive_ids(stack):
    api = stack.admin()

    def create(n):
        return api.post("/api/v1/customers", json=customer_payload(
            name=f"Parallel Edu {n}", industry="EDU"))

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(create, range(20)))
    assert [r.status_code for r in responses] == [201] * 20
    ids = [r.json()["id"] for r in responses]
    sequences = sorted(int(i.rsplit("-", 1)[1]) for i in ids)
    assert len(set(ids)) == 20
    assert sequences == list(range(sequences[0], sequences[0] + 20))
    assert all(i.split("-")[1] == "EDU" for i in ids)


def test_duplicate_name_or_phone_is_refused_with_the_existing_id(stack):
    api = stack.admin()
    first = api.post("/api/v1/customers", json=customer_payload(
        name="Huaxin Trading Co", industry="RETAIL", phone="13712345678")).json()
    by_name = api.post("/api/v1/customers", json=customer_payload(
        name=" HUAXIN  trading co ", industry="RETAIL"))
    by_phone = api.post("/api/v1/customers", json=customer_payload(
        name="Another", industry="TECH", phone="+86 137-1234-5678"))
    for response in (by_name, by_phone):
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "duplicate"
        assert error["details"]["existing_id"] == first["id"]
        assert first["id"] in error["message"]


def test_customer_lifecycle_change_log_and_follow_ups(stack):
    sales = stack.user("sales")
    created = sales.post("/api/v1/customers", json=customer_payload(
        name="Lifecycle Manufacturing", industry="MFG", grade="A", source="exhibition",
        contact_name="Wang Wei", email="wang@example.com", tags=["ERP"], phone=None,
        office_phone="021-5555-0101"))
    assert created.status_code == 201, created.text
    customer = created.json()
    assert (customer["owner"], customer["status"], customer["value_tier"]) == (
        sales.username, "active", "potential")
    assert customer["language"] == "zh"  # customers are written to in Chinese unless told

    refused = sales.patch(f"/api/v1/customers/{customer['id']}", json={"type": "deal"})
    assert refused.status_code == 422
    assert set(refused.json()["error"]["details"]["fields"]) == {"deal_amount", "deal_product",
                                                                 "signed_date"}
    converted = sales.patch(f"/api/v1/customers/{customer['id']}", json={
        "type": "deal", "deal_amount": 520000, "deal_product": "MES", "signed_date": "2026-11-20",
        "phone": "13600001111"})
    assert converted.status_code == 200, converted.text
    assert converted.json()["value_tier"] == "high"

    history = sales.get(f"/api/v1/customers/{customer['id']}/history").json()
    assert [entry["action"] for entry in history] == ["updated", "created"]
    assert history[0]["by"] == sales.username
    assert {"field": "type", "before": "prospect", "after": "deal"} in history[0]["changes"]
    assert {"field": "phone", "before": None, "after": "13600001111"} in history[0]["changes"]

    followup = sales.post(f"/api/v1/customers/{customer['id']}/followups", json={
        "at": "2026-11-24T10:30:00+08:00", "channel": "visit", "subject": "Kick-off",
        "content": "Walked the plant", "feedback": "Happy", "outcome": "positive",
        "next_action": "Send plan"})
    assert followup.status_code == 201, followup.text
    listed = sales.get(f"/api/v1/customers/{customer['id']}/followups").json()
    assert listed["total"] == 1 and listed["items"][0]["subject"] == "Kick-off"


def test_lists_filter_and_page(stack):
    api = stack.admin()
    for n in range(3):
        api.post("/api/v1/customers", json=customer_payload(
            name=f"Filter Gov {n}", industry="GOV", grade="B", type="intent"))
    page = api.get("/api/v1/customers", params={"industry": "GOV", "grade": "B", "type": "intent",
                                                "status": "active", "per_page": 2}).json()
    assert page["total"] >= 3 and len(page["items"]) == 2 and page["per_page"] == 2
    assert all(item["industry"] == "GOV" for item in page["items"])
    found = api.get("/api/v1/customers", params={"q": "Filter Gov 1"}).json()
    assert [item["name"] for item in found["items"]] == ["Filter Gov 1"]
    too_big = api.get("/api/v1/customers", params={"per_page": 500})
    assert too_big.status_code == 422
    assert "per_page" in too_big.json()["error"]["details"]["fields"]
    for path in ("/api/v1/customers", "/api/v1/tickets", "/api/v1/notifications"):
        beyond = api.get(path, params={"page": 10 ** 20})  # once an overflow inside the driver
        assert beyond.status_code == 422, (path, beyond.text)
        assert "page" in beyond.json()["error"]["details"]["fields"]


@pytest.mark.parametrize("missing", ["name", "contact_name", "phone", "industry", "type",
                                     "source"])
def test_each_required_field_is_422_naming_it(stack, missing):
    response = stack.admin().post("/api/v1/customers", json=customer_payload(**{missing: None}))
    assert response.status_code == 422, response.text
    assert set(response.json()["error"]["details"]["fields"]) == {missing}


def test_an_office_phone_is_phone_enough_and_first_contact_defaults_to_today(stack):
    api = stack.admin()
    created = api.post("/api/v1/customers", json=customer_payload(
        phone=None, office_phone="0755-8888-0001"))
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["first_contact_date"] == customer["created_at"][:10]
    emptied = api.patch(f"/api/v1/customers/{customer['id']}", json={"office_phone": None})
    assert emptied.status_code == 422
    assert set(emptied.json()["error"]["details"]["fields"]) == {"phone"}


@pytest.mark.parametrize("body, fields", [
    (customer_payload(name=None, contact_name=""), {"name", "contact_name"}),
    (customer_payload(name="X", industry="SPACE"), {"industry"}),
    (customer_payload(name="X", email="not-an-email", grade="Z"), {"email", "grade"}),
    (customer_payload(name="X", industry="TECH", unknown=1), {"unknown"}),
    (customer_payload(name="X", language="fr"), {"language"}),
    (customer_payload(name="X", industry="TECH", deal_amount="lots"), {"deal_amount"}),
])
def test_invalid_fields_are_422_naming_each_field(stack, body, fields):
    response = stack.admin().post("/api/v1/customers", json=body)
    assert response.status_code == 422
    assert set(response.json()["error"]["details"]["fields"]) == fields


def test_malformed_requests_get_clear_errors_not_500(stack):
    api = stack.admin()
    malformed = api.post("/api/v1/customers", data="{bad json",
                         headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert api.post("/api/v1/customers", json=[1, 2]).status_code == 400
    assert api.get("/api/v1/no-such-thing").status_code == 404
    assert api.get("/api/v1/customers/2026-TECH-999999").status_code == 404
    assert api.put("/api/v1/customers").status_code == 405
    for response in (malformed, api.get("/api/v1/no-such-thing")):
        assert set(response.json()["error"]) == {"code", "message", "details"}


def test_request_id_is_returned_and_reaches_the_service_logs(stack):
    body = customer_payload(name="Traced Co", industry="SVC")
    response = stack.admin().post("/api/v1/customers", json=body,
                                  headers={"X-Request-ID": "trace-e2e-42"})
    assert response.headers["X-Request-ID"] == "trace-e2e-42"
    generated = stack.anonymous().get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    duplicate = stack.admin().post("/api/v1/customers", json=body,
                                   headers={"X-Request-ID": "trace-e2e-43"})
    assert duplicate.status_code == 409
    logs = stack.logs()
    assert "[trace-e2e-42]" in logs  # the gateway's line
    assert "[trace-e2e-43] (expected) error handling worker <WorkerContext [customers.create]" in logs


def test_login_failures_are_401_then_429(stack):
    anonymous = stack.anonymous()
    stack.user("support", username="throttled")
    statuses = [anonymous.post("/api/v1/auth/login", json={"username": "throttled",
                                                          "password": "Wrong#pass1"}).status_code
                for _ in range(6)]
    assert statuses == [401] * 5 + [429]


def test_weak_password_and_duplicate_user(stack):
    admin = stack.admin()
    weak = admin.post("/api/v1/users", json={"username": "weakling", "password": "password",
                                             "role": "sales"})
    assert weak.status_code == 422
    assert "password" in weak.json()["error"]["details"]["fields"]
    stack.user("sales", username="twice")
    again = admin.post("/api/v1/users", json={"username": "twice", "password": "Abcdef#123",
                                              "role": "sales"})
    assert again.status_code == 409
    users = admin.get("/api/v1/users").json()
    assert all("password" not in user and "password_hash" not in user for user in users)


def test_operations_endpoints(stack):
    anonymous = stack.anonymous()
    assert anonymous.get("/healthz").json() == {"status": "ok"}
    ready = anonymous.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["customers"] == "ok"
    stack.admin().get("/api/v1/customers")
    assert stack.admin().get("/api/v1/customers/2020-NONE-999").status_code == 404
    assert anonymous.get("/metrics").status_code == 404  # not on the public port
    metrics = stack.scrape("gateway")
    # a 404 from the service is a refusal, not an RPC error
    assert 'deskflow_rpc_duration_seconds_count{method="get",outcome="refused",service="customers"}' in metrics
    assert 'deskflow_http_request_duration_seconds_bucket{le="0.002",method="GET",route="/api/v1/customers",status="200"}' in metrics
    assert 'deskflow_rpc_duration_seconds_count{method="list",outcome="ok",service="customers"}' in metrics
    stack.user("support")  # the gateway's outbox publishes user.created
    wait_until(lambda: 'deskflow_events_published_total{service="gateway",type="user.created"}'
               in stack.scrape("gateway"), message="the gateway's published event is not counted")
    spec = anonymous.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/customers/{customer_id}/history" in spec["paths"]
    customer_input = spec["components"]["schemas"]["CustomerInput"]
    assert customer_input["properties"]["deal_amount"]["minimum"] == 0


def test_the_profile_round_trips_through_the_api_and_filters_the_list(stack):
    api = stack.admin()
    sub_industry = f"工业软件 {uuid.uuid4().hex[:6]}"
    created = api.post("/api/v1/customers", json=customer_payload(
        sub_industry=sub_industry, employees=1200, contact_title="采购总监",
        budget_min=100000, budget_max=300000, expected_start="2027-01-15",
        preferred_channel="visit", need_tags=["relationship_oriented"], tags=["MES"]))
    assert created.status_code == 201, created.text
    customer = created.json()
    assert (customer["size_band"], customer["contact_title"], customer["budget_max"]) == (
        "medium", "采购总监", 300000.0)
    changed = api.patch(f"/api/v1/customers/{customer['id']}", json={"employees": 90})
    assert changed.json()["size_band"] == "micro"
    history = api.get(f"/api/v1/customers/{customer['id']}/history").json()
    assert {"field": "size_band", "before": "medium", "after": "micro"} in history[0]["changes"]
    found = api.get("/api/v1/customers", params={
        "sub_industry": sub_industry, "need_tag": "relationship_oriented", "tag": "MES",
        "size_band": "micro"}).json()
    assert [item["id"] for item in found["items"]] == [customer["id"]]
    refused = api.post("/api/v1/customers", json=customer_payload(referred_by="2026-TECH-999"))
    assert refused.status_code == 422
    assert set(refused.json()["error"]["details"]["fields"]) == {"referred_by"}
