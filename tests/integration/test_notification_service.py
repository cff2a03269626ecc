"""The notification service in a real container, on a real RabbitMQ vhost, PostgreSQL, a
real SMTP server and real HTTP receivers. Events are the shapes of docs/events.md, published
as the ticket, customer and gateway services publish them."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from nameko.testing.services import entrypoint_waiter

from services.common.clock import ManualClock
from services.notification.service import NotificationService
from tests.support.receiver import SECRET, receivers  # noqa: F401 (a fixture)
from tests.support.services import call, event, publish
from tests.support.smtp import SmtpServer, smtp  # noqa: F401 (a fixture)
from tests.support.stack import free_port
from tests.support.waiting import wait_until

# The receivers run on 127.0.0.1: private webhook addresses are allowed here.
FAST_DELIVERY = {"NOTIFY_RETRY_BASE_SECONDS": 0.05, "NOTIFY_MAX_ATTEMPTS": 5,
                 "NOTIFY_POLL_SECONDS": 0.05, "NOTIFY_HTTP_TIMEOUT_SECONDS": 1,
                 "WEBHOOK_ALLOW_PRIVATE": True}


def ticket(owner: str, number: int = 1, title: str = "Printer jams") -> dict:
    return {"id": f"2026-TECH-001-{number:03d}", "customer_id": "2026-TECH-001",
            "title": title, "owner": owner, "priority": "high", "state": "pending"}


def user_created(username: str, role: str = "support", email: str | None = None,
                 event_type: str = "user.created", at: datetime | None = None) -> dict:
    envelope = event(event_type, {"user": {
        "username": username, "display_name": username, "team": None, "active": True,
        "email": email or f"{username}@example.com", "role": role}}, source="gateway")
    if at is not None:
        envelope["occurred_at"] = at.isoformat()
    return envelope


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def service(container_factory, make_config, smtp):
    def start(clock=None, smtp_url=smtp.url, **options):
        config = make_config("notification", clock=clock, SMTP_URL=smtp_url)
        config.update({**FAST_DELIVERY, **options})
        container = container_factory(NotificationService, config)
        container.start()
        return container

    return start


def handle(container, envelope, actor=None):
    call(container, "handle_event", [envelope], actor=actor)


def subscribe(container, receiver, *event_types):
    return call(container, "create_webhook", {"url": receiver.url, "secret": SECRET,
                                               "event_types": list(event_types)})


def test_an_assigned_ticket_reaches_the_owner_by_inbox_and_email(service, smtp):
    container, owner = service(), name("alice")
    handle(container, user_created(owner))
    handle(container, event("ticket.created", {"ticket": ticket(owner)}), actor="admin")

    inbox = call(container, "inbox", {"unread": "true"}, actor=owner)
    assert inbox["total"] == 1
    entry = inbox["items"][0]
    assert entry["kind"] == "ticket_assigned" and not entry["read"]
    assert "2026-TECH-001-001" in entry["title"] and "Printer jams" in entry["body"]
    chinese = call(container, "inbox", {"lang": "zh"}, actor=owner)["items"][0]
    assert chinese["title"] == "工单 2026-TECH-001-001 已分配给您"

    (mail,) = wait_until(lambda: smtp.messages(f"{owner}@example.com"))
    assert "2026-TECH-001-001" in mail["Subject"] and "已分配给您" in mail["Subject"]
    assert "Printer jams" in mail.get_content() and "请在首次响应时限前" in mail.get_content()


def test_user_updates_are_learnt_and_an_older_event_arriving_late_is_ignored(service, smtp):
    container, owner = service(), name("fay")
    created_at = datetime.now(timezone.utc) - timedelta(minutes=1)
    handle(container, user_created(owner, email=f"{owner}@new.example.com",
                                   event_type="user.updated"))
    handle(container, user_created(owner, at=created_at))  # its own queue: arrives after
    handle(container, event("ticket.created", {"ticket": ticket(owner)}), actor="admin")

    wait_until(lambda: smtp.messages(f"{owner}@new.example.com"))
    assert smtp.messages(f"{owner}@example.com") == []


def test_the_actor_is_not_told_of_their_own_assignment(service):
    container, owner = service(), name("bob")
    handle(container, event("ticket.created", {"ticket": ticket(owner)}), actor=owner)
    assert call(container, "inbox", {}, actor=owner)["total"] == 0


def test_a_batch_of_events_by_different_people_spares_each_their_own(
        container_factory, make_config, smtp, rabbit_config):
    """A backlog taken in one batch: who acted is each event's own (its ``nameko.actor``)."""
    config = {**make_config("notification", SMTP_URL=smtp.url), **FAST_DELIVERY,
              "CONSUMER_BATCH_SIZE": 10, "CONSUMER_BATCH_WAIT_MS": 300}
    first = container_factory(NotificationService, config)
    first.start()
    call(first, "create_webhook", {"url": "http://127.0.0.1:9/", "secret": SECRET,
                                   "event_types": ["ticket.created"]})
    first.stop()  # its durable queues now keep what is published
    kim, lee, max_ = name("kim"), name("lee"), name("max")
    publish(rabbit_config["AMQP_URI"], event("ticket.created", {"ticket": ticket(kim, 1)}),
            actor=kim)  # her own ticket
    publish(rabbit_config["AMQP_URI"], event("ticket.created", {"ticket": ticket(kim, 2)}),
            event("ticket.created", {"ticket": ticket(max_, 3)}), actor=lee)
    container = container_factory(NotificationService, config)
    container.start()
    wait_until(lambda: call(container, "deliveries", {"channel": "webhook"})["total"] == 3,
               message="the three events handled")
    (told,) = call(container, "inbox", {}, actor=kim)["items"]
    assert "2026-TECH-001-002" in told["title"]
    assert call(container, "inbox", {}, actor=max_)["total"] == 1
    assert call(container, "inbox", {}, actor=lee)["total"] == 0


def test_each_user_reads_and_marks_only_their_own_inbox(service):
    container, owner, other = service(), name("carol"), name("dave")
    handle(container, event("ticket.assigned", {"ticket": ticket(owner), "previous_owner": other}))
    entry_id = call(container, "inbox", {}, actor=owner)["items"][0]["id"]

    assert call(container, "inbox", {}, actor=other)["total"] == 0
    with pytest.raises(Exception) as refused:
        call(container, "mark_read", entry_id, actor=other)
    assert type(refused.value).__name__ == "NotFound"

    assert call(container, "mark_read", entry_id, actor=owner)["read"] is True
    assert call(container, "inbox", {"unread": "true"}, actor=owner)["total"] == 0
    assert call(container, "inbox", {"unread": "false"}, actor=owner)["total"] == 1


def test_a_breach_reaches_the_owner_and_every_admin(service):
    container, owner, boss = service(), name("erin"), name("boss")
    handle(container, user_created(boss, role="admin"))
    handle(container, user_created(name("sales"), role="sales"))
    breach = {"ticket": ticket(owner), "clock": "resolution", "due_at": "2026-11-25T16:00:00+00:00",
              "target_seconds": 7200, "elapsed_seconds": 7201}
    handle(container, event("ticket.sla_breached", breach))

    for user in (owner, boss, "admin"):  # "admin": the configured first admin
        (entry,) = call(container, "inbox", {}, actor=user)["items"]
        assert entry["kind"] == "sla_breached"
        assert "resolution deadline (2026-11-25T16:00:00+00:00)" in entry["body"]


@pytest.mark.parametrize("envelope, kind, words", [
    (event("ticket.transitioned", {"ticket": ticket("frank"), "from": "in_progress",
                                   "to": "done", "note": "", "by": "x", "at": "2026"}),
     "rating_request", "satisfaction rating"),
    (event("customer.updated", {"customer": {"id": "2026-FIN-002", "name": "Acme", "owner": "frank"},
                                "changes": [{"field": "phone", "before": "13800000000",
                                             "after": "13900000000"}],
                                "contact_changed": True}, source="customers"),
     "contact_changed", "phone 13800000000 → 13900000000"),
    (event("task.overdue", {"task": {"id": 3, "title": "Call Acme", "assignee": "frank",
                                     "due_at": "2026-11-20T09:00:00+00:00",
                                     "customer_id": "2026-FIN-002"}, "notify": ["frank"]},
           source="workflow"),
     "task_overdue", "was due at 2026-11-20T09:00:00+00:00"),
])
def test_other_triggers_tell_the_owner(service, envelope, kind, words):
    container = service()
    handle(container, envelope, actor="someone-else")
    (entry,) = call(container, "inbox", {}, actor="frank")["items"]
    assert entry["kind"] == kind and words in entry["body"]


def test_events_that_concern_nobody_leave_the_inbox_empty(service):
    container = service()
    handle(container, event("ticket.transitioned", {"ticket": ticket("gina"), "from": "pending",
                                                    "to": "in_progress", "note": "", "by": "x",
                                                    "at": "2026"}))
    handle(container, event("customer.updated", {
        "customer": {"id": "2026-FIN-003", "name": "Acme", "owner": "gina"},
        "changes": [{"field": "notes", "before": "a", "after": "b"}], "contact_changed": False},
        source="customers"))
    assert call(container, "inbox", {}, actor="gina")["total"] == 0


def test_a_malformed_event_is_refused_naming_the_field(service):
    container = service()
    with pytest.raises(Exception) as refused:
        handle(container, event("ticket.sla_breached", {"ticket": {"title": "no id"}}))
    assert type(refused.value).__name__ == "ValidationFailed"
    assert set(refused.value.details["fields"]) == {"ticket", "clock", "due_at"}


def test_the_same_envelope_delivered_twice_is_notified_once(service, smtp, receivers, rabbit_config):
    container, owner, hook = service(), name("hank"), receivers()
    handle(container, user_created(owner))
    subscribe(container, hook, "ticket.created")
    envelope = event("ticket.created", {"ticket": ticket(owner)})

    handled = []
    with entrypoint_waiter(container, "handle_event",
                           callback=lambda worker_ctx, *_: handled.extend(worker_ctx.args[0])
                           or len(handled) == 2):
        publish(rabbit_config["AMQP_URI"], envelope, actor="admin")
        publish(rabbit_config["AMQP_URI"], envelope, actor="admin")

    assert call(container, "inbox", {}, actor=owner)["total"] == 1
    wait_until(lambda: smtp.messages(f"{owner}@example.com") and hook.accepted())
    wait_until(lambda: all(row["status"] == "sent"
                         for row in call(container, "deliveries", {})["items"]))
    assert len(smtp.messages(f"{owner}@example.com")) == 1
    (received,) = hook.requests
    assert received.signature_valid and received.envelope == envelope
    assert received.event_type == "ticket.created"
    assert call(container, "deliveries", {})["total"] == 2  # one email, one webhook


def test_a_receiver_failing_three_times_gets_the_event_exactly_once(service, receivers):
    container, hook = service(), receivers(fail_times=3)
    webhook = subscribe(container, hook, "ticket.sla_warning")
    handle(container, event("ticket.sla_warning", {
        "ticket": ticket("ivy"), "clock": "first_response", "due_at": "2026-11-25T15:00:00+00:00",
        "target_seconds": 600, "elapsed_seconds": 480}))

    wait_until(hook.accepted)
    (delivery,) = wait_until(lambda: [row for row in call(container, "deliveries", {}, webhook["id"])
                                    ["items"] if row["status"] == "sent"])
    assert [received.status for received in hook.requests] == [500, 500, 500, 200]
    assert {received.delivery_id for received in hook.requests} == {delivery["id"]}
    assert all(received.signature_valid for received in hook.requests)
    assert delivery["attempts"] == 4 and delivery["last_error"] is None


def test_a_dead_receiver_is_given_up_after_the_last_attempt(service, receivers):
    container, hook = service(), receivers(fail_times=100)
    subscribe(container, hook, "ticket.created")
    handle(container, event("ticket.created", {"ticket": ticket("jack")}))

    (failed,) = wait_until(lambda: call(container, "deliveries", {"status": "failed"})["items"])
    assert failed["attempts"] == 5 and "HTTP 500" in failed["last_error"]
    assert len(hook.requests) == 5


def test_an_email_waits_out_a_mail_server_outage_and_arrives_once(service, tmp_path):
    port, owner = free_port(), name("mona")
    container = service(smtp_url=f"smtp://127.0.0.1:{port}", NOTIFY_EMAIL_WINDOW_SECONDS=0.1,
                        NOTIFY_MAX_ATTEMPTS=8, NOTIFY_RETRY_BASE_SECONDS=0.1)
    handle(container, user_created(owner))
    handle(container, event("ticket.created", {"ticket": ticket(owner)}))
    wait_until(lambda: call(container, "deliveries", {"channel": "email"})["items"][0]["attempts"] >= 2)

    server = SmtpServer(tmp_path / "mail", port).start()  # the mail server comes back
    try:
        (sent,) = wait_until(lambda: call(container, "deliveries", {"status": "sent"})["items"])
        assert sent["attempts"] >= 3 and sent["channel"] == "email"
        (mail,) = server.messages(f"{owner}@example.com")
        assert "2026-TECH-001-001" in mail["Subject"]
    finally:
        server.stop()


def test_a_deleted_webhook_gets_nothing_more(service, receivers):
    container, hook = service(NOTIFY_MAX_ATTEMPTS=1000), receivers(fail_times=1000)
    webhook = subscribe(container, hook, "ticket.created")
    handle(container, event("ticket.created", {"ticket": ticket("nina")}))
    wait_until(lambda: hook.requests)
    call(container, "delete_webhook", str(webhook["id"]))

    (failed,) = wait_until(lambda: call(container, "deliveries", {"status": "failed"})["items"])
    assert failed["last_error"] == "the webhook was deleted"
    handle(container, event("ticket.created", {"ticket": ticket("nina", 2)}))
    assert call(container, "deliveries", {})["total"] == 1
    assert call(container, "list_webhooks") == []


def test_a_slow_receiver_does_not_hold_up_the_others(service, receivers):
    # A timeout far beyond the test's waits: only concurrency lets the fast one through.
    container = service(NOTIFY_HTTP_TIMEOUT_SECONDS=60)
    slow, fast = receivers(hold=True), receivers()
    subscribe(container, slow, "ticket.created")
    subscribe(container, fast, "ticket.created")
    handle(container, event("ticket.created", {"ticket": ticket("kim")}))

    wait_until(lambda: slow.arrived == 1, message="the slow receiver has its delivery")
    wait_until(fast.accepted, message="the fast receiver is served meanwhile")
    assert slow.requests == []  # the slow one is still sitting on its delivery, unanswered
    slow.released.set()
    (answered,) = wait_until(slow.accepted)
    assert answered.signature_valid and slow.arrived == 1  # one attempt, no retry


def test_a_burst_becomes_one_email_and_one_digest(service, smtp):
    clock = ManualClock()
    container, owner = service(clock=clock), name("lena")
    handle(container, user_created(owner))
    for number in range(1, 21):
        handle(container, event("ticket.created", {"ticket": ticket(owner, number)}))
    first = wait_until(lambda: smtp.messages(f"{owner}@example.com"))
    assert call(container, "inbox", {}, actor=owner)["total"] == 20

    clock.advance(61)  # the rate window ends: the held emails leave as one digest
    single, digest = wait_until(lambda: len(smtp.messages(f"{owner}@example.com")) == 2
                              and smtp.messages(f"{owner}@example.com"))
    assert single["Subject"] == first[0]["Subject"] and "is assigned to you" in single["Subject"]
    assert digest["Subject"].startswith("19 notifications")
    body = digest.get_content()
    ids = [f"2026-TECH-001-{number:03d}" for number in range(1, 21)]
    (alone,) = [ticket_id for ticket_id in ids if ticket_id in single["Subject"]]
    assert [body.count(f"{ticket_id} is assigned") for ticket_id in ids] == [
        0 if ticket_id == alone else 1 for ticket_id in ids]
    assert "您有 19 条新通知" in body
