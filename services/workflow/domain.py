"""Task rules in plain Python: states, who may do what to a task, and when its reminders
are owed. Nothing here knows about Nameko, Flask or SQL.

A task (the ORM row or any object with the same attributes) has ``assignee``,
``created_by``, ``state``, ``due_at``, ``due_soon_sent_at``, ``overdue_sent_at`` and
``next_check_at``.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.errors import Forbidden, InvalidTransition

STATES = ("open", "done", "cancelled")
PRIORITIES = ("high", "medium", "low")
PRIORITY_ORDER = {"high": 0, "medium": 1, "low": 2}
DUE_SOON, OVERDUE = "task.due_soon", "task.overdue"
ADMIN, MANAGER = "admin", "manager"


@dataclass(frozen=True)
class Actor:
    """Who is calling: their username, role and team (None when in no team)."""

    username: str
    role: str | None
    team: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    @property
    def is_manager(self) -> bool:
        return self.role == MANAGER


def check_may_assign(actor: Actor, assignee: str, assignee_team: str | None) -> None:
    """Admins assign to anyone, managers within their team, everyone else to themselves."""
    if actor.is_admin or assignee == actor.username:
        return
    if actor.is_manager and actor.team is not None and assignee_team == actor.team:
        return
    raise Forbidden(f"You may not assign tasks to {assignee}.",
                    {"assignee": assignee, "role": actor.role})


def may_see(actor: Actor, task, assignee_team: str | None) -> bool:
    """Admins see all; managers their team's tasks and their own; others theirs."""
    if actor.is_admin or actor.username in (task.assignee, task.created_by):
        return True
    return actor.is_manager and actor.team is not None and assignee_team == actor.team


def check_may_complete(actor: Actor, task, assignee_team: str | None) -> None:
    """The assignee, their manager or an admin."""
    if actor.is_admin or actor.username == task.assignee:
        return
    if actor.is_manager and actor.team is not None and assignee_team == actor.team:
        return
    raise Forbidden("Only the assignee, their manager or an admin may complete this task.",
                    {"assignee": task.assignee, "role": actor.role})


def check_may_cancel(actor: Actor, task) -> None:
    """The creator, a manager or an admin."""
    if actor.is_admin or actor.is_manager or actor.username == task.created_by:
        return
    raise Forbidden("Only the creator, a manager or an admin may cancel this task.",
                    {"created_by": task.created_by, "role": actor.role})


def check_may_reassign(actor: Actor) -> None:
    if not (actor.is_admin or actor.is_manager):
        raise Forbidden("Only admins and managers may change the assignee.",
                        {"field": "assignee", "role": actor.role})


def check_open(task, target: str) -> None:
    if task.state != "open":
        raise InvalidTransition(f"Task {task.id} is {task.state}; only an open task can be "
                                f"{target}.", {"state": task.state, "allowed": []})


def is_overdue(task, now: datetime) -> bool:
    return task.state == "open" and task.due_at <= now


# --- reminders -----------------------------------------------------------------------------

def next_check(task, remind_before: timedelta) -> datetime | None:
    """The earliest moment the sweep owes this task a reminder."""
    if task.state != "open":
        return None
    if task.due_soon_sent_at is None and task.overdue_sent_at is None:
        return task.due_at - remind_before
    if task.overdue_sent_at is None:
        return task.due_at
    return None


def due_reminders(task, now: datetime, remind_before: timedelta) -> list[str]:
    """The reminders owed at ``now``, each at most once: ``task.due_soon`` while due within
    ``remind_before`` (not once it is already late), ``task.overdue`` once past due."""
    if task.state != "open":
        return []
    if task.overdue_sent_at is None and task.due_at <= now:
        return [OVERDUE]
    if task.due_soon_sent_at is None and task.due_at - remind_before <= now:
        return [DUE_SOON]
    return []


def mark_reminder(task, reminder: str, now: datetime, remind_before: timedelta) -> None:
    if reminder == DUE_SOON:
        task.due_soon_sent_at = now
    else:
        task.overdue_sent_at = now
    task.next_check_at = next_check(task, remind_before)


def escalation(assignee_team: str | None, managers: list[str], admins: list[str]) -> list[str]:
    """Who hears of an overdue task besides its assignee and creator: the managers of the
    assignee's team, or the admins when the assignee has no team (or it has no manager)."""
    if assignee_team is not None and managers:
        return sorted(managers)
    return sorted(admins)
