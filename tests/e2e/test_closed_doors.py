"""Doors that must stay closed, tried over HTTP against the real processes."""
import re
import uuid

import pytest

from tests.support.commands import send_command
from tests.support.customers import customer_payload
from tests.support.receiver import SECRET, receivers  # noqa: F401 (a fixture)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


def test_a_two_mib_body_is_refused_with_413(stack):
    api = stack.admin()
    body = b'{"name": "' + b"x" * (2 * MIB) + b'", "industry": "TECH"}'
    response = api.post("/api/v1/customers", data=body,
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["details"]["max_bytes"] == MIB
    # the unread rest of the body makes the connection unusable, and the answer says so;
    # the client's next request goes on a new connection and is served
    assert response.headers["Connection"] == "close"
    assert api.get("/api/v1/customers").status_code == 200


def former_500s(customer_id: str) -> list:
    """Inputs that once reached the database or the templates and came back as 500."""
    followup = {"at": "2026-11-25T10:30:00+08:00", "channel": "visit", "subject": "Visit",
                "outcome": "positive"}
    return [
        ("GET", "/reports/export?format=csv&lang=fr", None, "lang"),
        ("GET", "/notifications?lang=fr", None, "lang"),
        ("POST", "/notifications/1/read?lang=fr", None, "lang"),
        ("POST", "/customers", customer_payload(employees=2**31), "employees"),
        ("POST", "/customers", customer_payload(annual_revenue="10000000000000000"),
         "annual_revenue"),
        ("PATCH", f"/customers/{customer_id}", {"annual_revenue": 1e20}, "annual_revenue"),
        ("PATCH", f"/customers/{customer_id}", {"employees": 10**12}, "employees"),
        ("PATCH", f"/customers/{customer_id}", {"type": "deal", "deal_amount": 1e17,
                                                "deal_product": "x", "signed_date": "2026-11-20"},
         "deal_amount"),
        ("GET", "/reports/summary?from=1899-12-31&to=2026-11-30", None, "from"),
        ("GET", "/reports/summary?from=2026-11-01&to=3000-01-01", None, "to"),
        ("GET", "/reports/export?format=pdf&from=0001-01-01", None, "from"),
        ("GET", "/reports/summary?to=9999-12-31", None, "to"),
        ("POST", "/customers", customer_payload(name="Nul\u0000 Co"), "name"),
        ("PATCH", f"/customers/{customer_id}", {"notes": "a\u0000b"}, "notes"),
        ("GET", "/customers?q=%00", None, "q"),
        ("POST", f"/customers/{customer_id}/followups",
         {**followup, "at": "0001-01-01T00:00:00+14:00"}, "at"),
        ("POST", f"/customers/{customer_id}/followups",
         {**followup, "next_followup_at": "9999-12-31T23:59:59-12:00"}, "next_followup_at"),
    ]


def test_inputs_that_gave_500_give_422_naming_the_field(stack):
    api = stack.admin()
    customer = api.post("/api/v1/customers", json=customer_payload(name="Range Check Co"))
    assert customer.status_code == 201, customer.text
    for method, path, body, field in former_500s(customer.json()["id"]):
        response = api.request(method, "/api/v1" + path, json=body)
        assert response.status_code == 422, (method, path, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_failed"
        assert field in error["details"]["fields"], (path, error)
    assert api.get("/api/v1/customers/%00").status_code == 404


def test_the_largest_values_the_columns_hold_are_accepted(stack):
    api = stack.admin()
    response = api.post("/api/v1/customers", json=customer_payload(
        name="Largest Co", employees=2**31 - 1, annual_revenue="9999999999999999.99"))
    assert response.status_code == 201, response.text
    assert response.json()["employees"] == 2**31 - 1
    summary = api.get("/api/v1/reports/summary?from=1900-01-01&to=2999-12-31")
    assert summary.status_code == 200, summary.text


def test_a_webhook_to_the_loopback_address_is_refused_unless_allowed(sqlite_stack, stack,
                                                                     receivers):
    hook = receivers()
    subscription = {"url": hook.url, "secret": SECRET, "event_types": ["ticket.created"]}
    refused = sqlite_stack.admin().post("/api/v1/webhooks", json=subscription)
    assert refused.status_code == 422  # sqlite_stack runs without WEBHOOK_ALLOW_PRIVATE
    assert "public addresses only" in refused.json()["error"]["details"]["fields"]["url"][0]
    allowed = stack.admin().post("/api/v1/webhooks", json=subscription)
    assert allowed.status_code == 201, allowed.text  # stack runs with it, for local receivers
    assert stack.admin().delete(f"/api/v1/webhooks/{allowed.json()['id']}").status_code == 204


PHONES = ["13812345678", "+86 139 8765 4321", "+86-137-2468-1357", "010-62345678",
          "021-5432 1098", "１３６１１１１２２２２", "+1 415 555 0100"]
EMAILS = ["wang.lei@example.com", "客服.李@example.cn"]
CLEAR_MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
CLEAR_EMAIL = re.compile(r"[\w.+-]{2,}@example\.(?:com|cn)")


def test_logs_mask_phone_numbers_and_emails_even_in_tracebacks(stack):
    api = stack.admin()
    for number, phone in enumerate(PHONES):
        created = api.post("/api/v1/customers", json=customer_payload(
            name=f"Masked Phone Co {uuid.uuid4().hex[:6]}", phone=phone,
            email=EMAILS[number % 2] if number < 2 else None))
        assert created.status_code in (201, 409), created.text
    for value in PHONES + EMAILS:
        # the access log names the path: each value reaches a log line
        assert api.get(f"/api/v1/customers/{value}").status_code == 404
    # a command another system sends with personal data where a field name belongs: the
    # consumer dead-letters it and logs why, quoting the field names
    command_id = str(uuid.uuid4())
    send_command(stack.amqp_uri, "customer.upsert", {
        "name": "Leaky Co", "industry": "TECH", PHONES[0]: 1, EMAILS[0]: 1}, command_id)
    wait_until(lambda: f"dead-lettering customer.upsert" in stack.logs()
               and "Unknown field" in stack.logs(), timeout=60)

    logs = stack.logs()
    leaks = [value for value in PHONES + EMAILS if value in logs]
    leaks += CLEAR_MOBILE.findall(logs) + CLEAR_EMAIL.findall(logs)
    assert leaks == []
    assert "138****5678" in logs and "010-****5678" in logs and "w***@example.com" in logs
