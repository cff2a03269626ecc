"""Notifications end to end: the real processes on RabbitMQ and PostgreSQL, driven through
the gateway, mailing a real SMTP server and posting to real HTTP receivers that check the
signature."""
import uuid

import pytest

from tests.integration.test_notification_service import event, publish, ticket
from tests.support.receiver import SECRET, receivers  # noqa: F401 (a fixture)
from tests.support.smtp import smtp  # noqa: F401 (a fixture)
from tests.support.stack import running_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

EMAIL_WINDOW_SECONDS = 5
DELIVERY_ENV = {"NOTIFY_RETRY_BASE_SECONDS": "0.1", "NOTIFY_MAX_ATTEMPTS": "5",
                "NOTIFY_POLL_SECONDS": "0.1", "NOTIFY_HTTP_TIMEOUT_SECONDS": "2",
                "NOTIFY_EMAIL_WINDOW_SECONDS": str(EMAIL_WINDOW_SECONDS),
                "SLA_SWEEP_SECONDS": "0.5"}


@pytest.fixture(scope="module")
def notify_stack(rabbit_manager, databases, tmp_path_factory, smtp):
    """A stack of its own, mailing the test SMTP server, with short retry delays."""
    with running_stack(rabbit_manager, databases, tmp_path_factory.mktemp("notify"),
                       SMTP_URL=smtp.url, **DELIVERY_ENV) as running:
        yield running


@pytest.fixture(scope="module")
def customer(notify_stack):
    response = notify_stack.admin().post("/api/v1/customers", json={
        "name": f"Notify Co {uuid.uuid4().hex[:6]}", "industry": "SVC", "owner": "admin"})
    assert response.status_code == 201, response.text
    return response.json()


def subscribe(api, receiver, *event_types) -> dict:
    response = api.post("/api/v1/webhooks", json={"url": receiver.url, "secret": SECRET,
                                                  "event_types": list(event_types)})
    assert response.status_code == 201, response.text
    return response.json()


def open_ticket(api, customer, owner, **fields) -> dict:
    response = api.post("/api/v1/tickets", json={
        "customer_id": customer["id"], "service_type": "aftersales", "category": "inquiry",
        "priority": "medium", "title": "Invoice missing", "owner": owner, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def inbox(api, **query) -> list[dict]:
    response = api.get("/api/v1/notifications", params=query)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def entries(api, kind: str, subject_id: str) -> list[dict]:
    return [entry for entry in inbox(api, per_page=200)
            if entry["kind"] == kind and subject_id in entry["title"]]


def mails(smtp, api, text: str) -> list:
    return [mail for mail in smtp.messages(f"{api.username}@example.com")
            if text in mail["Subject"] or text in mail.get_content()]


def random_phone() -> str:
    return "13" + str(uuid.uuid4().int)[:9]


def test_a_contact_change_reaches_the_owner_and_only_the_owner(notify_stack, smtp):
    sales, other = notify_stack.user("sales"), notify_stack.user("support")
    created = sales.post("/api/v1/customers", json={
        "name": f"Contact Co {uuid.uuid4().hex[:6]}", "industry": "RETAIL",
        "phone": random_phone(), "contact_name": "王伟"})
    assert created.status_code == 201, created.text
    customer_id, new_phone = created.json()["id"], random_phone()
    changed = notify_stack.admin().patch(f"/api/v1/customers/{customer_id}",
                                         json={"phone": new_phone})
    assert changed.status_code == 200, changed.text

    (entry,) = wait_until(lambda: inbox(sales, unread="true"))
    assert entry["kind"] == "contact_changed" and customer_id in entry["title"]
    assert new_phone in entry["body"]
    chinese = inbox(sales, lang="zh")[0]
    assert chinese["title"] == f"客户 {customer_id} 的联系方式已变更"
    (mail,) = wait_until(lambda: mails(smtp, sales, customer_id))
    assert new_phone in mail.get_content() and "联系电话" in mail.get_content()

    assert other.post(f"/api/v1/notifications/{entry['id']}/read").status_code == 404
    assert sales.post("/api/v1/notifications/not-a-number/read").status_code == 404
    assert inbox(other) == []
    read = sales.post(f"/api/v1/notifications/{entry['id']}/read")
    assert read.status_code == 200 and read.json()["read"] is True
    assert inbox(sales, unread="true") == [] and len(inbox(sales, unread="false")) == 1
    assert sales.get("/api/v1/notifications", params={"per_page": 500}).status_code == 422


def test_webhooks_are_managed_by_admins_only(notify_stack, receivers):
    admin, sales = notify_stack.admin(), notify_stack.user("sales")
    hook = receivers()
    assert sales.post("/api/v1/webhooks", json={"url": hook.url, "secret": SECRET,
                                                "event_types": ["ticket.created"]}).status_code == 403
    assert sales.get("/api/v1/webhooks").status_code == 403
    bad = admin.post("/api/v1/webhooks", json={"url": "ftp://x", "secret": "short",
                                               "event_types": ["ticket.exploded"]})
    assert bad.status_code == 422
    assert set(bad.json()["error"]["details"]["fields"]) == {"url", "secret", "event_types"}

    created = subscribe(admin, hook, "customer.deleted")
    assert "secret" not in created
    assert created["id"] in [item["id"] for item in admin.get("/api/v1/webhooks").json()]
    assert admin.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert admin.delete(f"/api/v1/webhooks/{created['id']}").status_code == 404
    assert admin.get("/api/v1/webhooks/99999999999/deliveries").status_code == 404
    assert created["id"] not in [item["id"] for item in admin.get("/api/v1/webhooks").json()]


def test_a_ticket_is_assigned_and_finished_with_inbox_email_and_signed_webhook(
        notify_stack, smtp, receivers, customer):
    admin, support = notify_stack.admin(), notify_stack.user("support")
    hook = receivers()
    subscribe(admin, hook, "ticket.created", "ticket.transitioned")
    created = open_ticket(admin, customer, support.username)

    (assigned,) = wait_until(lambda: entries(support, "ticket_assigned", created["id"]))
    assert created["title"] in assigned["body"]
    (mail,) = wait_until(lambda: mails(smtp, support, created["id"]))
    assert "is assigned to you" in mail["Subject"] and created["title"] in mail.get_content()
    (delivery,) = wait_until(lambda: [received for received in hook.accepted()
                                    if received.event_type == "ticket.created"])
    assert delivery.signature_valid and delivery.envelope["data"]["ticket"]["id"] == created["id"]
    assert delivery.envelope["source"] == "tickets"

    path = f"/api/v1/tickets/{created['id']}/transitions"
    assert support.post(path, json={"to": "in_progress"}).status_code == 200
    done = support.post(path, json={"to": "done", "solution": "Resent the invoice",
                                    "resolution": "resolved"})
    assert done.status_code == 200, done.text
    (rating,) = wait_until(lambda: entries(support, "rating_request", created["id"]))
    assert "satisfaction rating" in rating["body"]
    wait_until(lambda: len([r for r in hook.accepted() if r.event_type == "ticket.transitioned"]) == 2)
    assert all(received.signature_valid for received in hook.requests)
    assert len({received.delivery_id for received in hook.requests}) == 3


def test_an_sla_breach_reaches_the_owner_and_every_admin(notify_stack, smtp, receivers,
                                                         customer):
    admin, support = notify_stack.admin(), notify_stack.user("support")
    boss, hook = notify_stack.user("admin"), receivers()
    subscribe(admin, hook, "ticket.sla_warning", "ticket.sla_breached")
    policy = admin.get("/api/v1/sla/policy").json()
    fast = {**policy, "first_response": {**policy["first_response"], "complaint": 2}}
    assert admin.put("/api/v1/sla/policy", json=fast).status_code == 200, "policy refused"
    try:
        created = open_ticket(admin, customer, support.username, category="complaint")
    finally:
        admin.put("/api/v1/sla/policy", json=policy)

    wait_until(lambda: entries(support, "sla_warning", created["id"]))
    for api in (support, boss, admin):
        (breach,) = wait_until(lambda: entries(api, "sla_breached", created["id"]))
        assert "first-response deadline" in breach["body"]
    (mail,) = wait_until(lambda: mails(smtp, boss, created["id"]))
    assert mail["Subject"].startswith(f"SLA breached: ticket {created['id']}")
    wait_until(lambda: len(hook.accepted()) == 2)
    assert sorted(received.event_type for received in hook.requests) == [
        "ticket.sla_breached", "ticket.sla_warning"]
    assert all(received.signature_valid and received.envelope["data"]["clock"] == "first_response"
               for received in hook.requests)


def test_an_event_published_twice_is_delivered_once(notify_stack, smtp, receivers):
    admin, owner = notify_stack.admin(), notify_stack.user("support")
    hook = receivers()
    subscribe(admin, hook, "ticket.created")
    first = event("ticket.created", {"ticket": ticket(owner.username, 900, "Told first")})
    twice = event("ticket.created", {"ticket": ticket(owner.username, 901, "Twice told")})
    last = event("ticket.created", {"ticket": ticket(owner.username, 902, "Told last")})
    publish(notify_stack.amqp_uri, first)
    wait_until(lambda: mails(smtp, owner, "Told first"))  # the owner's address is known
    for envelope in (twice, twice, last):
        publish(notify_stack.amqp_uri, envelope)

    # Within the rate window both leave in one digest, well after both copies were handled.
    wait_until(lambda: mails(smtp, owner, "Told last")
             and [r for r in hook.accepted() if r.envelope["id"] == last["id"]])
    assert len(entries(owner, "ticket_assigned", "2026-TECH-001-901")) == 1
    (digest,) = mails(smtp, owner, "Twice told")
    assert digest.get_content().count("Twice told") == 2  # once in English, once in Chinese
    assert [r.envelope for r in hook.requests if r.envelope["id"] == twice["id"]] == [twice]


def test_a_receiver_failing_three_times_gets_the_event_once(notify_stack, receivers):
    admin, hook = notify_stack.admin(), receivers(fail_times=3)
    webhook = subscribe(admin, hook, "customer.created")
    created = admin.post("/api/v1/customers", json={
        "name": f"Retry Co {uuid.uuid4().hex[:6]}", "industry": "EDU"})
    assert created.status_code == 201, created.text

    (accepted,) = wait_until(hook.accepted)
    assert accepted.envelope["data"]["customer"]["id"] == created.json()["id"]
    assert [received.status for received in hook.requests] == [500, 500, 500, 200]
    assert len({received.delivery_id for received in hook.requests}) == 1
    path = f"/api/v1/webhooks/{webhook['id']}/deliveries"
    log = wait_until(lambda: [row for row in admin.get(path).json()["items"]
                            if row["status"] == "sent"])
    assert [(row["attempts"], row["last_error"]) for row in log] == [(4, None)]
    assert admin.get(path).json()["total"] == 1


def test_a_dead_receiver_ends_failed_in_the_delivery_log(notify_stack, receivers, customer):
    admin, hook = notify_stack.admin(), receivers(fail_times=1000)
    webhook = subscribe(admin, hook, "followup.logged")
    logged = admin.post(f"/api/v1/customers/{customer['id']}/followups", json={
        "at": "2026-11-25T10:00:00+00:00", "channel": "phone", "subject": "Check-in",
        "outcome": "neutral"})
    assert logged.status_code == 201, logged.text

    (failed,) = wait_until(lambda: [row for row in admin.get(
        "/api/v1/deliveries", params={"status": "failed", "channel": "webhook"}).json()["items"]
        if row["webhook_id"] == webhook["id"]])
    assert failed["attempts"] == 5 and "HTTP 500" in failed["last_error"]
    assert len(hook.requests) == 5
    assert notify_stack.user("sales").get("/api/v1/deliveries").status_code == 403


def test_a_burst_of_tickets_becomes_an_email_and_a_digest(notify_stack, smtp, customer):
    admin, owner = notify_stack.admin(), notify_stack.user("support")
    created = [open_ticket(admin, customer, owner.username, title=f"Import {n}")["id"]
               for n in range(8)]

    wait_until(lambda: len(inbox(owner)) == 8)
    wait_until(lambda: all(mails(smtp, owner, ticket_id) for ticket_id in created), timeout=30)
    sent = smtp.messages(f"{owner.username}@example.com")
    assert len(sent) < len(created)
    assert "is assigned to you" in sent[0]["Subject"]  # the first goes out alone
    assert any("notifications:" in mail["Subject"] for mail in sent)  # the rest in a digest
    for ticket_id in created:
        assert len(mails(smtp, owner, ticket_id)) == 1
