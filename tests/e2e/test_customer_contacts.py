"""A contact change reaches the people who serve the customer (客户联系方式变更时通知相关服务
人员, issue 11): its owner, the owners of its open tickets and the assignees of its open
tasks, each once; someone whose ticket was handed on does not hear of it."""
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.customers import customer_payload, unique_phone
from tests.support.stack import open_ticket
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def notices(api, kind: str, customer_id: str) -> list[dict]:
    items = api.get("/api/v1/notifications", params={"per_page": 200}).json()["items"]
    return [entry for entry in items if entry["kind"] == kind and customer_id in entry["body"]]


def give_task(admin, assignee: str, customer_id: str) -> dict:
    due = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()

    def made():  # the workflow service learns new users from their events
        response = admin.post("/api/v1/tasks", json={
            "title": "Visit the customer", "due_at": due, "assignee": assignee,
            "customer_id": customer_id})
        return response.json() if response.status_code == 201 else None

    return wait_until(made, timeout=30, message=f"a task for {assignee}")


def test_a_phone_change_reaches_each_person_serving_the_customer_once(stack):
    admin = stack.admin()
    owner, on_ticket, on_task, former = (stack.user("sales"), stack.user("support"),
                                         stack.user("sales"), stack.user("support"))
    customer = owner.post("/api/v1/customers", json=customer_payload()).json()
    customer_id = customer["id"]
    handed_on = open_ticket(admin, customer_id, owner=former.username)
    wait_until(lambda: notices(former, "ticket_assigned", customer_id))
    assert admin.patch(f"/api/v1/tickets/{handed_on['id']}",
                       json={"owner": on_ticket.username}).status_code == 200
    open_ticket(admin, customer_id, owner=owner.username)  # the owner is on a ticket too
    tasks = {person: give_task(admin, person.username, customer_id)
             for person in (on_task, owner)}  # the owner is on a task too
    # the notification service has seen the work: each person was told of theirs
    wait_until(lambda: notices(on_ticket, "ticket_assigned", customer_id))
    for person, task in tasks.items():
        wait_until(lambda: [entry for entry in notices(person, "task_assigned", customer_id)
                            if f"Task {task['id']} " in entry["title"]])

    changed = admin.patch(f"/api/v1/customers/{customer_id}", json={"phone": unique_phone()})
    assert changed.status_code == 200, changed.text

    for person in (owner, on_ticket, on_task):
        wait_until(lambda: notices(person, "contact_changed", customer_id),
                   message=f"{person.username} hears of the change")
    # one more event of the same customer, handled after the change: by then every notice
    # of the change is written
    assert admin.patch(f"/api/v1/customers/{customer_id}",
                       json={"email": "new@example.com"}).status_code == 200
    wait_until(lambda: len(notices(on_task, "contact_changed", customer_id)) == 2)
    for person in (owner, on_ticket, on_task):
        assert len(notices(person, "contact_changed", customer_id)) == 2, person.username
    assert notices(former, "contact_changed", customer_id) == []  # no longer on the ticket
