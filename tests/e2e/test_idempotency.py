"""Every POST is safe to retry: a repeat under the same ``Idempotency-Key`` gets the first
answer and changes nothing, through the real gateway, broker and services."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.customers import customer_payload

pytestmark = pytest.mark.e2e


def new_customer(api, name):
    response = api.post("/api/v1/customers", json=customer_payload(name=name, industry="SVC"))
    assert response.status_code == 201, response.text
    return response.json()


def ticket_body(customer, title="Pricing question"):
    return {"customer_id": customer["id"], "service_type": "presales", "category": "inquiry",
            "title": title}


def count_tickets(api, customer):
    return api.get("/api/v1/tickets", params={"customer_id": customer["id"]}).json()["total"]


def test_a_retried_create_gets_the_first_answer_and_makes_one_ticket(stack):
    api = stack.admin()
    customer = new_customer(api, "Retrying Client")
    headers = {"Idempotency-Key": "client-retry-20261125-0001"}
    first = api.post("/api/v1/tickets", json=ticket_body(customer), headers=headers)
    retry = api.post("/api/v1/tickets", json=ticket_body(customer), headers=headers)
    fresh = api.post("/api/v1/tickets", json=ticket_body(customer))
    assert first.status_code == retry.status_code == fresh.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert fresh.json()["id"] != first.json()["id"]
    assert count_tickets(api, customer) == 2


def test_the_same_key_with_another_body_is_refused(stack):
    api = stack.admin()
    customer = new_customer(api, "Key Reuser")
    headers = {"Idempotency-Key": "reused-key-0001"}
    first = api.post("/api/v1/tickets", json=ticket_body(customer), headers=headers)
    assert first.status_code == 201
    other = api.post("/api/v1/tickets", json=ticket_body(customer, "Another"), headers=headers)
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert count_tickets(api, customer) == 1


@pytest.mark.parametrize("key", ["short", "x" * 129, "has space in it"])
def test_a_malformed_key_is_a_422_naming_the_header(stack, key):
    response = stack.admin().post("/api/v1/customers", json=customer_payload(name="Never Made"),
                                  headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["error"]["details"]["fields"]


def test_every_post_is_covered_even_a_refusal_is_replayed(stack):
    """Follow-ups and transitions get it without declaring anything; a 4xx answer is an
    answer too, replayed as it was."""
    api = stack.admin()
    customer = new_customer(api, "Followed Up")
    followup = {"at": "2026-11-20T10:00:00+00:00", "channel": "phone", "subject": "Call",
                "outcome": "positive"}
    path = f"/api/v1/customers/{customer['id']}/followups"
    headers = {"Idempotency-Key": "followup-once-0001"}
    assert api.post(path, json=followup, headers=headers).status_code == 201
    assert api.post(path, json=followup, headers=headers).status_code == 201
    assert api.get(path).json()["total"] == 1

    ticket = api.post("/api/v1/tickets", json=ticket_body(customer)).json()
    moves = f"/api/v1/tickets/{ticket['id']}/transitions"
    refused = api.post(moves, json={"to": "closed"}, headers={"Idempotency-Key": "bad-move-0001"})
    again = api.post(moves, json={"to": "closed"}, headers={"Idempotency-Key": "bad-move-0001"})
    assert refused.status_code == again.status_code == 409
    assert again.json() == refused.json()


def test_keys_belong_to_the_user_who_sent_them(stack):
    admin, sales = stack.admin(), stack.user("sales")
    customer = new_customer(admin, "Two Users Co")
    headers = {"Idempotency-Key": "shared-looking-key"}
    mine = admin.post("/api/v1/tickets", json=ticket_body(customer), headers=headers)
    theirs = sales.post("/api/v1/tickets", json=ticket_body(customer), headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


def test_a_request_id_is_never_used_as_a_key(stack):
    api = stack.admin()
    customer = new_customer(api, "Request Id Reuser")
    headers = {"X-Request-ID": "same-request-id-0001"}
    first = api.post("/api/v1/tickets", json=ticket_body(customer), headers=headers)
    second = api.post("/api/v1/tickets", json=ticket_body(customer), headers=headers)
    assert first.json()["id"] != second.json()["id"]
    assert count_tickets(api, customer) == 2


def test_concurrent_repeats_make_one_ticket(stack):
    api = stack.admin()
    customer = new_customer(api, "Impatient Client")
    headers = {"Idempotency-Key": "impatient-key-0001"}
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(
            lambda _: stack.admin().post("/api/v1/tickets", json=ticket_body(customer),
                                         headers=headers), range(6)))
    made = [answer.json()["id"] for answer in answers if answer.status_code == 201]
    busy = [answer.json()["error"]["code"] for answer in answers if answer.status_code == 409]
    assert len(made) + len(busy) == 6
    assert made and len(set(made)) == 1
    assert set(busy) <= {"in_progress"}
    assert count_tickets(api, customer) == 1


def test_logging_in_is_not_subject_to_keys(stack):
    """Login has no user to scope a key to, and a stored answer would keep a bearer token
    at rest: each login answers afresh."""
    body = {"username": "admin", "password": "Admin#12345"}
    headers = {"Idempotency-Key": "login-key-00001"}
    first = stack.anonymous().post("/api/v1/auth/login", json=body, headers=headers)
    second = stack.anonymous().post("/api/v1/auth/login", json={**body, "password": "wrong"},
                                    headers=headers)
    assert first.status_code == 200
    assert second.status_code == 401
