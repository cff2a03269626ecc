"""Tasks and rules end to end: the shared stack (real processes on RabbitMQ and PostgreSQL,
a workflow sweep every 0.5 s, no due-soon reminder), driven through the gateway, mailing a
real SMTP server."""
import os
import signal
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.integration.test_workflow_service import ticket_event
from tests.support.customers import customer_payload
from tests.support.services import publish
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def admin(stack):
    return stack.admin()


@pytest.fixture(scope="module")
def sales(stack):
    return stack.user("sales")


def ok(response, status=200):
    assert response.status_code == status, response.text
    return response.json()


def new_customer(api, **fields):
    return ok(api.post("/api/v1/customers", json=customer_payload(**fields)), 201)


def rule_id(api, key):
    return next(rule["id"] for rule in ok(api.get("/api/v1/workflow/rules"))
                if rule["default_key"] == key)


def rule_tasks(api, key, **query):
    listed = ok(api.get("/api/v1/tasks", params={"source": f"rule:{rule_id(api, key)}",
                                                 "per_page": 200, **query}))
    return listed["items"]


def inbox(api, kind):
    return [entry for entry in ok(api.get("/api/v1/notifications", params={"per_page": 200}))["items"]
            if entry["kind"] == kind]


def test_a_deal_gives_its_owner_a_letter_task_due_72_hours_later(admin, sales):
    customer = new_customer(admin, owner=sales.username)
    before = datetime.now(timezone.utc)
    ok(admin.patch(f"/api/v1/customers/{customer['id']}", json={
        "type": "deal", "deal_amount": 150000, "deal_product": "Suite",
        "signed_date": "2026-11-20"}))
    after = datetime.now(timezone.utc)
    (letter,) = wait_until(lambda: [task for task in rule_tasks(
        sales, "deal_letter", customer_id=customer["id"])], timeout=30)
    due = datetime.fromisoformat(letter["due_at"])
    assert before + timedelta(hours=72) <= due <= after + timedelta(hours=72)
    mine = ok(sales.get("/api/v1/tasks", params={"mine": "true"}))["items"]
    assert letter["id"] in [task["id"] for task in mine]
    notices = wait_until(lambda: [entry for entry in inbox(sales, "task_assigned")
                                  if str(letter["id"]) in entry["title"]], timeout=30)
    assert letter["title"] in notices[0]["body"]
    reason = letter["reason"]
    assert reason["trigger"]["event_type"] == "customer.updated"
    assert reason["seen"] == {"type": "deal", "changed": ["deal_amount", "deal_product",
                                                          "signed_date", "type"]}


def test_a_done_ticket_makes_a_feedback_task_which_the_rating_completes(admin, sales):
    customer = new_customer(admin, owner=sales.username)
    ticket = ok(admin.post("/api/v1/tickets", json={
        "customer_id": customer["id"], "service_type": "aftersales", "category": "inquiry",
        "title": "Cannot log in", "owner": sales.username}), 201)
    path = f"/api/v1/tickets/{ticket['id']}"
    ok(admin.post(f"{path}/transitions", json={"to": "in_progress"}))
    ok(admin.post(f"{path}/transitions", json={"to": "done", "solution": "Reset",
                                               "resolution": "resolved"}))
    (task,) = wait_until(lambda: rule_tasks(admin, "ticket_feedback", ticket_id=ticket["id"]),
                         timeout=30)
    assert task["assignee"] == sales.username and task["state"] == "open"
    ok(admin.post(f"{path}/rating", json={"score": 5}), 201)
    done = wait_until(lambda: [item for item in rule_tasks(admin, "ticket_feedback",
                                                           ticket_id=ticket["id"])
                               if item["state"] == "done"], timeout=30)
    assert "ticket.rated" in done[0]["completion_note"]


def test_an_a_grade_customer_gets_a_weekly_task_renewed_by_a_followup(admin, sales):
    customer = new_customer(admin, owner=sales.username, grade="A")
    (first,) = wait_until(lambda: rule_tasks(sales, "grade_followup_A",
                                             customer_id=customer["id"]), timeout=30)
    created = datetime.fromisoformat(customer["created_at"])  # the event follows within ms
    anchor = datetime.fromisoformat(first["reason"]["trigger"]["occurrence"])
    assert created <= anchor < created + timedelta(seconds=5)
    assert datetime.fromisoformat(first["due_at"]) == anchor + timedelta(days=7)
    ok(sales.post(f"/api/v1/customers/{customer['id']}/followups", json={
        "at": datetime.now(timezone.utc).isoformat(), "channel": "phone", "subject": "Weekly",
        "outcome": "positive"}), 201)
    tasks = wait_until(lambda: (found := rule_tasks(sales, "grade_followup_A",
                                                    customer_id=customer["id"]))
                       and len(found) == 2 and found, timeout=30)
    by_state = {task["state"]: task for task in tasks}
    completed = datetime.fromisoformat(by_state["done"]["completed_at"])
    assert datetime.fromisoformat(by_state["open"]["due_at"]) == completed + timedelta(days=7)


def test_a_manual_task_past_due_reaches_the_inbox_and_mail_once(stack, smtp):
    lina = stack.user("sales")
    wait_until(lambda: lina.post("/api/v1/tasks", json={
        "title": "probe", "due_at": (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    }).status_code == 201, timeout=30)  # the workflow service has learnt the new user
    due = datetime.now(timezone.utc) + timedelta(seconds=3)
    task = ok(lina.post("/api/v1/tasks", json={"title": "Send the quote", "due_at": due.isoformat(),
                                               "priority": "high"}), 201)
    (entry,) = wait_until(lambda: inbox(lina, "task_overdue"), timeout=60)
    assert str(task["id"]) in entry["title"] and "Send the quote" in entry["body"]
    mails = wait_until(lambda: [mail for mail in smtp.messages(f"{lina.username}@example.com")
                                if f"Task {task['id']} is overdue" in mail["Subject"]], timeout=60)
    wait_until(lambda: ok(lina.get(f"/api/v1/tasks/{task['id']}"))["overdue"], timeout=10)
    assert len(mails) == 1 and len(inbox(lina, "task_overdue")) == 1


def test_five_deliveries_with_the_consumer_killed_make_one_task(stack, admin, rabbit_manager):
    ticket_id = f"2026-TECH-9{uuid.uuid4().hex[:5]}-001"
    done = ticket_event("ticket.transitioned", ticket_id, datetime.now(timezone.utc),
                        **{"from": "in_progress", "to": "done"})
    for _ in range(5):
        publish(stack.amqp_uri, done)
    pid = stack.service_pid("workflow")
    os.kill(pid, signal.SIGKILL)  # the supervisor starts it again; unacked deliveries return
    wait_until(lambda: stack.service_pid("workflow") not in (None, pid), timeout=60)
    wait_until(lambda: stack.anonymous().get("/readyz").status_code == 200, timeout=60)
    wait_until(lambda: rule_tasks(admin, "ticket_feedback", ticket_id=ticket_id), timeout=60)
    queue = "evt-tickets-ticket.transitioned--workflow.handle_event"
    wait_until(lambda: rabbit_manager.get_queue(stack.env["DESKFLOW_TEST_VHOST"], queue)
               ["messages"] == 0, timeout=60)  # every delivery handled, none waiting
    assert len(rule_tasks(admin, "ticket_feedback", ticket_id=ticket_id)) == 1


def test_a_rating_published_before_the_done_event_leaves_the_task_completed(stack, admin):
    """The two events travel on separate queues, so either may be consumed first (each order
    is pinned in the integration tests); whichever is, the one task ends completed."""
    ticket_id = f"2026-TECH-8{uuid.uuid4().hex[:5]}-001"
    done_at = datetime.now(timezone.utc)
    publish(stack.amqp_uri, ticket_event("ticket.rated", ticket_id, done_at + timedelta(minutes=5),
                                         rating={"score": 4}))
    publish(stack.amqp_uri, ticket_event("ticket.transitioned", ticket_id, done_at,
                                         **{"from": "in_progress", "to": "done"}))
    wait_until(lambda: [task for task in rule_tasks(admin, "ticket_feedback", ticket_id=ticket_id)
                        if task["state"] == "done"], timeout=30)
    assert len(rule_tasks(admin, "ticket_feedback", ticket_id=ticket_id)) == 1


def test_reason_is_unchanged_after_the_rule_is_edited_and_dry_runs_change_nothing(stack, admin):
    started = datetime.now(timezone.utc) - timedelta(seconds=1)
    ticket_id = f"2026-TECH-7{uuid.uuid4().hex[:5]}-001"
    publish(stack.amqp_uri, ticket_event("ticket.transitioned", ticket_id, started,
                                         **{"from": "in_progress", "to": "done"}))
    (before,) = wait_until(lambda: rule_tasks(admin, "ticket_feedback", ticket_id=ticket_id),
                           timeout=30)
    number = rule_id(admin, "ticket_feedback")
    rule = ok(admin.get(f"/api/v1/workflow/rules/{number}"))
    edited = {key: rule[key] for key in ("name", "enabled", "trigger", "where", "task",
                                         "completes_on", "time_zone", "catch_up")}
    edited["task"] = {**edited["task"], "due_in_hours": 48}
    assert ok(admin.put(f"/api/v1/workflow/rules/{number}", json=edited))["version"] == \
        rule["version"] + 1
    after = ok(admin.get(f"/api/v1/tasks/{before['id']}"))
    assert after["reason"] == before["reason"] and after["due_at"] == before["due_at"]

    candidate = {**edited, "name": "Urgent feedback", "task": {**edited["task"], "due_in_hours": 4,
                                                               "assignee": "admin"}}
    counted = ok(admin.get("/api/v1/tasks", params={"per_page": 1}))["total"]
    result = ok(admin.post("/api/v1/workflow/rules/dry-run", json={
        "rule": candidate, "from": started.isoformat(),
        "to": datetime.now(timezone.utc).isoformat()}))
    would = [task for task in result["tasks"] if task["ticket_id"] == ticket_id]
    assert len(would) == 1 and would[0]["assignee"] == "admin"
    assert datetime.fromisoformat(would[0]["due_at"]) == started + timedelta(hours=4)
    assert result["events_examined"] >= 1
    assert ok(admin.get("/api/v1/tasks", params={"per_page": 1}))["total"] == counted


def test_rules_and_tasks_refuse_bad_input_naming_the_field(admin, sales):
    bad = ok(admin.post("/api/v1/workflow/rules", json={
        "name": "x", "trigger": {"event": "ticket.melted"},
        "task": {"title": "t", "due_in_hours": 1, "assignee": "owner"}}), 422)
    assert "trigger.event" in bad["error"]["details"]["fields"]
    nobody = ok(admin.post("/api/v1/workflow/rules", json={
        "name": "x", "trigger": {"event": "ticket.created"},
        "task": {"title": "t", "due_in_hours": 1, "assignee": "customer_owner"}}), 422)
    assert "task.assignee" in nobody["error"]["details"]["fields"]
    assert sales.post("/api/v1/workflow/rules", json={}).status_code == 403
    past = ok(sales.post("/api/v1/tasks", json={"title": "t", "due_at": "2020-01-01T00:00:00Z"}),
              422)
    assert "due_at" in past["error"]["details"]["fields"]
    naive = ok(sales.post("/api/v1/tasks", json={"title": "t", "due_at": "2030-01-01T00:00:00"}),
               422)
    assert "due_at" in naive["error"]["details"]["fields"]
    assert sales.get("/api/v1/tasks/999999").status_code == 404


def test_etag_and_if_match_guard_edits(sales):
    due = (datetime.now(timezone.utc) + timedelta(days=2)).isoformat()
    created = sales.post("/api/v1/tasks", json={"title": "Draft", "due_at": due})
    assert created.status_code == 201, created.text
    path = f"/api/v1/tasks/{created.json()['id']}"
    tag = sales.get(path).headers["ETag"]
    changed = sales.patch(path, json={"title": "Final"}, headers={"If-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    stale = sales.patch(path, json={"title": "Lost update"}, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "stale"
    done = ok(sales.post(f"{path}/complete", json={"note": "Sent"}))
    assert done["state"] == "done"
    assert sales.post(f"{path}/complete", json={"note": "again"}).status_code == 409


def test_the_followup_plan_is_a_view_of_the_grade_rules(admin, sales):
    assert ok(admin.get("/api/v1/followup-plan")) == {"A": 7, "B": 14, "C": 30}
    assert ok(admin.put("/api/v1/followup-plan", json={"A": 5, "B": 14, "C": 30})) == \
        {"A": 5, "B": 14, "C": 30}
    rule = ok(admin.get(f"/api/v1/workflow/rules/{rule_id(admin, 'grade_followup_A')}"))
    assert rule["trigger"] == {"every_days": 5} and rule["task"]["due_in_days"] == 5

    def shown_plan_days():  # the customer service learns the plan from the workflow's event
        made = new_customer(admin, grade="A", owner=sales.username)
        interval = (datetime.fromisoformat(made["next_followup_due_at"])
                    - datetime.fromisoformat(made["created_at"]))
        return interval == timedelta(days=5)

    wait_until(shown_plan_days, timeout=30, interval=0.5)
    ok(admin.put("/api/v1/followup-plan", json={"A": 7, "B": 14, "C": 30}))
