"""Notifications end to end: the real processes on RabbitMQ and PostgreSQL, driven through
the gateway, mailing a real SMTP server and posting to real HTTP receivers that check the
signature."""
import pytest

from tests.integration.test_notification_service import ticket
from tests.support.customers import customer_payload, unique_phone
from tests.support.receiver import SECRET, receivers  # noqa: F401 (a fixture)
from tests.support.services import event, publish
from tests.support.stack import open_ticket
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def customer(stack):
    response = stack.admin().post("/api/v1/customers", json=customer_payload(
        industry="SVC", owner="admin"))
    assert response.status_code == 201, response.text
    return response.json()


def subscribe(api, receiver, *event_types) -> dict:
    response = api.post("/api/v1/webhooks", json={"url": receiver.url, "secret": SECRET,
                                                  "event_types": list(event_types)})
    assert response.status_code == 201, response.text
    return response.json()


def about(received: list, ticket: dict) -> list:
    """The deliveries about ``ticket`` (the shared stack makes other tickets too)."""
    return [one for one in received if one.envelope["data"]["ticket"]["id"] == ticket["id"]]


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


def test_a_contact_change_reaches_the_owner_and_only_the_owner(stack, smtp):
    sales, other = stack.user("sales"), stack.user("support")
    created = sales.post("/api/v1/customers", json=customer_payload(
        industry="RETAIL", contact_name="王伟"))
    assert created.status_code == 201, created.text
    customer_id, new_phone = created.json()["id"], unique_phone()
    changed = stack.admin().patch(f"/api/v1/customers/{customer_id}",
                                         json={"phone": new_phone})
    assert changed.status_code == 200, changed.text

    # the owner's inbox also holds the tasks the default workflow rules give it: look at
    # the contact notices only
    def notices(**query):
        return [entry for entry in inbox(sales, **query) if entry["kind"] == "contact_changed"]

    (entry,) = wait_until(lambda: notices(unread="true"))
    assert customer_id in entry["title"]
    assert new_phone in entry["body"]
    chinese = notices(lang="zh")[0]
    assert chinese["title"] == f"客户 {customer_id} 的联系方式已变更"
    # by the new phone: another stack of the run may have mailed about the same customer id
    (mail,) = wait_until(lambda: mails(smtp, sales, new_phone))
    assert new_phone in mail.get_content() and "联系电话" in mail.get_content()

    assert other.post(f"/api/v1/notifications/{entry['id']}/read").status_code == 404
    assert sales.post("/api/v1/notifications/not-a-number/read").status_code == 404
    assert inbox(other) == []
    read = sales.post(f"/api/v1/notifications/{entry['id']}/read")
    assert read.status_code == 200 and read.json()["read"] is True
    assert notices(unread="true") == [] and len(notices(unread="false")) == 1
    assert sales.get("/api/v1/notifications", params={"per_page": 500}).status_code == 422


def test_webhooks_are_managed_by_admins_only(stack, receivers):
    admin, sales = stack.admin(), stack.user("sales")
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
        stack, smtp, receivers, customer):
    admin, support = stack.admin(), stack.user("support")
    hook = receivers()
    subscribe(admin, hook, "ticket.created", "ticket.transitioned")
    created = open_ticket(admin, customer["id"], owner=support.username)

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
    wait_until(lambda: len([r for r in about(hook.accepted(), created)
                            if r.event_type == "ticket.transitioned"]) == 2)
    assert all(received.signature_valid for received in hook.requests)
    assert len({received.delivery_id for received in about(hook.requests, created)}) == 3


def test_an_sla_breach_reaches_the_owner_and_every_admin(stack, smtp, receivers,
                                                         customer):
    admin, support = stack.admin(), stack.user("support")
    boss, hook = stack.user("admin"), receivers()
    subscribe(admin, hook, "ticket.sla_warning", "ticket.sla_breached")
    policy = admin.get("/api/v1/sla/policy").json()
    fast = {**policy, "first_response": {**policy["first_response"], "complaint": 2}}
    assert admin.put("/api/v1/sla/policy", json=fast).status_code == 200, "policy refused"
    try:
        created = open_ticket(admin, customer["id"], owner=support.username,
                              category="complaint")
    finally:
        admin.put("/api/v1/sla/policy", json=policy)

    wait_until(lambda: entries(support, "sla_warning", created["id"]))
    for api in (support, boss, admin):
        (breach,) = wait_until(lambda: entries(api, "sla_breached", created["id"]))
        assert "first-response deadline" in breach["body"]
    (mail,) = wait_until(lambda: mails(smtp, boss, created["id"]))
    assert mail["Subject"].startswith(f"SLA breached: ticket {created['id']}")
    wait_until(lambda: len(about(hook.accepted(), created)) == 2)
    mine = about(hook.requests, created)
    assert sorted(received.event_type for received in mine) == [
        "ticket.sla_breached", "ticket.sla_warning"]
    assert all(received.signature_valid and received.envelope["data"]["clock"] == "first_response"
               for received in mine)


def test_an_event_published_twice_is_delivered_once(stack, smtp, receivers):
    admin, owner = stack.admin(), stack.user("support")
    hook = receivers()
    subscribe(admin, hook, "ticket.created")
    first = event("ticket.created", {"ticket": ticket(owner.username, 900, "Told first")})
    twice = event("ticket.created", {"ticket": ticket(owner.username, 901, "Twice told")})
    last = event("ticket.created", {"ticket": ticket(owner.username, 902, "Told last")})
    publish(stack.amqp_uri, first)
    wait_until(lambda: mails(smtp, owner, "Told first"))  # the owner's address is known
    for envelope in (twice, twice, last):
        publish(stack.amqp_uri, envelope)

    # Within the rate window both leave in one digest, well after both copies were handled.
    wait_until(lambda: mails(smtp, owner, "Told last")
             and [r for r in hook.accepted() if r.envelope["id"] == last["id"]])
    assert len(entries(owner, "ticket_assigned", "2026-TECH-001-901")) == 1
    (digest,) = mails(smtp, owner, "Twice told")
    assert digest.get_content().count("Twice told") == 2  # once in English, once in Chinese
    assert [r.envelope for r in hook.requests if r.envelope["id"] == twice["id"]] == [twice]


def test_a_receiver_failing_three_times_gets_the_event_once(stack, receivers):
    admin, hook = stack.admin(), receivers(fail_times=3)
    webhook = subscribe(admin, hook, "customer.created")
    created = admin.post("/api/v1/customers", json=customer_payload(industry="EDU"))
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


def test_a_dead_receiver_ends_failed_in_the_delivery_log(stack, receivers, customer):
    admin, hook = stack.admin(), receivers(fail_times=1000)
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
    assert stack.user("sales").get("/api/v1/deliveries").status_code == 403


def test_a_burst_of_tickets_becomes_an_email_and_a_digest(stack, smtp, customer):
    admin, owner = stack.admin(), stack.user("support")
    created = [open_ticket(admin, customer["id"], owner=owner.username,
                           title=f"Import {n}")["id"] for n in range(8)]

    wait_until(lambda: len(inbox(owner)) == 8)
    wait_until(lambda: all(mails(smtp, owner, ticket_id) for ticket_id in created), timeout=30)
    sent = smtp.messages(f"{owner.username}@example.com")
    assert len(sent) < len(created)
    assert "is assigned to you" in sent[0]["Subject"]  # the first goes out alone
    assert any("notifications:" in mail["Subject"] for mail in sent)  # the rest in a digest
    for ticket_id in created:
        assert len(mails(smtp, owner, ticket_id)) == 1
