"""Who serves a customer, as the notification service keeps it from ticket and task events
(on PostgreSQL): events of one record may arrive out of order, and a contact change reaches
the current owners of open tickets and assignees of open tasks, each once."""
from datetime import datetime, timedelta, timezone

from tests.integration.test_notification_service import handle, service  # noqa: F401
from tests.support.services import call, event
from tests.support.smtp import smtp  # noqa: F401 (a fixture)

T = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
CUSTOMER = {"id": "2026-SVC-042", "name": "Served Co", "owner": "olga"}


def ticket(number: int, owner: str, state: str, at: datetime) -> dict:
    return {"ticket": {"id": f"2026-SVC-042-{number:03d}", "customer_id": CUSTOMER["id"],
                       "title": "Help", "owner": owner, "priority": "low", "state": state,
                       "updated_at": at.isoformat()}}


def task(number: int, assignee: str, state: str, at: datetime) -> dict:
    return {"task": {"id": number, "title": "Visit", "assignee": assignee, "state": state,
                     "customer_id": CUSTOMER["id"], "due_at": (T + timedelta(days=2)).isoformat(),
                     "updated_at": at.isoformat()}}


def contact_notices(container, username) -> int:
    inbox = call(container, "inbox", {"per_page": 200}, actor=username)["items"]
    return sum(entry["kind"] == "contact_changed" for entry in inbox)


def test_the_newest_snapshot_of_each_ticket_and_task_decides_who_hears(service):  # noqa: F811
    container = service()
    later = T + timedelta(hours=1)
    # handed on from ann to bob: the hand-over arrives before the creation
    handle(container, event("ticket.assigned", ticket(1, "bob", "in_progress", later)))
    handle(container, event("ticket.created", ticket(1, "ann", "pending", T)))
    handle(container, event("ticket.created", ticket(2, "olga", "pending", T)))  # the owner
    handle(container, event("ticket.created", ticket(3, "dan", "pending", T)))
    handle(container, event("ticket.transitioned", ticket(3, "dan", "done", later)))
    handle(container, event("task.created", task(7, "cat", "open", T), source="workflow"))
    handle(container, event("task.created", task(8, "bob", "open", T), source="workflow"))
    handle(container, event("task.completed", task(9, "eve", "done", later), source="workflow"))

    handle(container, event("customer.updated", {
        "customer": CUSTOMER, "contact_changed": True,
        "changes": [{"field": "phone", "before": "13800000001", "after": "13800000002"}]},
        source="customers"), actor="admin")
    heard = {name: contact_notices(container, name)
             for name in ("olga", "bob", "cat", "ann", "dan", "eve", "admin")}
    assert heard == {"olga": 1, "bob": 1, "cat": 1, "ann": 0, "dan": 0, "eve": 0, "admin": 0}
