"""The task use cases: each takes a unit of work, applies the rules of
:mod:`~services.workflow.domain`, writes the change and its event in one transaction, and
commits. Also the reminder sweep."""
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, not_, or_, select

from services.common.context import SYSTEM_ACTOR
from services.common.db import count, one_or_404
from services.common.errors import NotFound, ValidationFailed
from services.common.schemas import load_or_422, page_of, schema_of
from services.common.versions import bump_version, check_version
from services.workflow import domain, schedules, views
from services.workflow.models import Rule, Schedule, Task
from services.workflow.schemas import (
    CancelInputSchema, CompleteInputSchema, SummaryRowSchema, TaskFilterSchema, TaskInputSchema,
    TaskSchema, TaskUpdateSchema,
)

SWEEP_BATCH = 200
MANUAL = "manual"


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", {"fields": {field: [message]}})


def present(task: Task, now: datetime) -> dict:
    values = {name: getattr(task, name) for name in schema_of(TaskSchema).fields if name != "overdue"}
    values["overdue"] = domain.is_overdue(task, now)
    return schema_of(TaskSchema).dump(values)


def actor_of(uow) -> domain.Actor:
    """The caller; its team as the gateway read it for this request (else as learnt)."""
    name = uow.context.actor
    team = uow.context.actor_team or views.team_of(uow.session, name)
    return domain.Actor(name, uow.context.actor_role, team)


# --- making and closing (shared with the rule engine) -------------------------------------

def make_task(uow, options, *, title, assignee, due_at, priority="medium", description=None,
              customer_id=None, ticket_id=None, source=MANUAL, rule_id=None, reason=None,
              created_by=None, announce=True) -> Task:
    """The new task, added to the session; with ``announce`` also written (it has its id)
    and its ``task.created`` emitted, else the caller does both (:func:`announce_created`)."""
    now = uow.now()
    task = Task(title=title, description=description, customer_id=customer_id,
                ticket_id=ticket_id, assignee=assignee, priority=priority, due_at=due_at,
                state="open", source=source, rule_id=rule_id, reason=reason,
                created_by=created_by or uow.context.actor, created_at=now, updated_at=now,
                version=1)
    task.next_check_at = domain.next_check(task, options.remind_before)
    uow.session.add(task)
    if announce:
        uow.session.flush()
        announce_created(uow, task)
    return task


def announce_created(uow, task: Task) -> None:
    """Emit ``task.created`` for a task written in this transaction."""
    uow.emit("task.created", {"task": present(task, uow.now())})


def close_task(uow, options, task: Task, state: str, at: datetime, note: str) -> None:
    """Complete (``done``) or cancel a task at ``at``; a schedule's next task is planned."""
    task.state, task.next_check_at = state, None
    task.updated_at = uow.now()
    bump_version(task)
    if state == "done":
        task.completed_at, task.completion_note = at, note
    else:
        task.cancelled_at, task.cancel_reason = at, note
    uow.emit(f"task.{'completed' if state == 'done' else 'cancelled'}",
             {"task": present(task, uow.now())})
    if task.rule_id is not None and task.customer_id is not None:
        _plan_next(uow, options, task, at)


def _plan_next(uow, options, task: Task, at: datetime) -> None:
    """An ``every_days`` schedule waits while its task is open; once none is, the next falls
    due ``every_days`` after this one closed."""
    row = uow.session.get(Schedule, (task.rule_id, task.customer_id), with_for_update=True)
    rule = uow.session.get(Rule, task.rule_id)
    if row is None or rule is None or not schedules.pauses_while_open(rule.definition["trigger"]):
        return
    still_open = uow.session.scalars(select(Task.id).where(
        Task.rule_id == task.rule_id, Task.customer_id == task.customer_id,
        Task.state == "open", Task.id != task.id)).first()
    if still_open is None:
        definition = rule.definition
        zone = schedules.zone(definition.get("time_zone") or options.time_zone)
        row.next_at = schedules.after_completion(definition["trigger"], definition["task"], at, zone)


# --- the API -------------------------------------------------------------------------------

def _check_assignee(uow, options, actor: domain.Actor, assignee: str) -> None:
    if not views.is_active_user(uow.session, assignee, options.admin_username):
        raise _invalid("assignee", f"No active user {assignee}.")
    domain.check_may_assign(actor, assignee, views.team_of(uow.session, assignee))


def create_task(uow, options, payload: dict, find_customer, find_ticket) -> dict:
    """``find_customer`` and ``find_ticket`` ask their services (422 naming the field when
    unknown), with no transaction open; a repeated request is answered by the service's
    ``@idempotent`` entrypoint."""
    data = load_or_422(schema_of(TaskInputSchema), payload)
    if data["due_at"] < uow.now():
        raise _invalid("due_at", "Must not be in the past.")
    actor = actor_of(uow)
    data.setdefault("assignee", actor.username)
    _check_assignee(uow, options, actor, data["assignee"])
    uow.rollback()  # no transaction stays open while another service answers
    if data.get("customer_id"):
        find_customer(data["customer_id"])
    if data.get("ticket_id"):
        ticket = find_ticket(data["ticket_id"])
        data.setdefault("customer_id", ticket.get("customer_id"))
    task = make_task(uow, options, **data)
    shown = present(task, uow.now())
    uow.commit()
    return shown


def _visible(uow, task_id, actor: domain.Actor, for_update=False) -> Task:
    """The task, or 404 when it does not exist or the caller may not see it."""
    statement = select(Task).where(Task.id == _task_id(task_id))
    if for_update:
        statement = statement.with_for_update()
    task = one_or_404(uow.session, statement, "Task", task_id)
    if not domain.may_see(actor, task, views.team_of(uow.session, task.assignee)):
        raise NotFound(f"Task {task_id} does not exist.", {"id": task_id})
    return task


def _task_id(task_id) -> int:
    try:
        return int(task_id)
    except (TypeError, ValueError):
        raise NotFound(f"Task {task_id} does not exist.", {"id": task_id}) from None


def get_task(uow, task_id) -> dict:
    return present(_visible(uow, task_id, actor_of(uow)), uow.now())


def _scope(actor: domain.Actor):
    """The tasks ``actor`` may see, as a condition."""
    if actor.is_admin:
        return None
    own = or_(Task.assignee == actor.username, Task.created_by == actor.username)
    if actor.is_manager and actor.team is not None:
        return or_(own, Task.assignee.in_(views.team_members(actor.team)))
    return own


def _overdue(now: datetime):
    return and_(Task.state == "open", Task.due_at <= now)


def list_tasks(uow, query: dict) -> dict:
    filters = load_or_422(schema_of(TaskFilterSchema), query)
    page, per_page, now, actor = filters.pop("page"), filters.pop("per_page"), uow.now(), actor_of(uow)
    statement = select(Task)
    if (scope := _scope(actor)) is not None:
        statement = statement.where(scope)
    for name in ("assignee", "state", "customer_id", "ticket_id", "priority", "source"):
        if name in filters:
            statement = statement.where(getattr(Task, name) == filters[name])
    if "overdue" in filters:
        statement = statement.where(_overdue(now) if filters["overdue"] else not_(_overdue(now)))
    if "due_before" in filters:
        statement = statement.where(Task.due_at < filters["due_before"])
    if "due_after" in filters:
        statement = statement.where(Task.due_at >= filters["due_after"])
    if filters.get("mine"):
        statement = statement.where(Task.assignee == actor.username, Task.state == "open")
    priority = case(domain.PRIORITY_ORDER, value=Task.priority, else_=3)
    total = count(uow.session, statement)
    rows = uow.session.scalars(statement.order_by(Task.due_at, priority, Task.id)
                               .offset((page - 1) * per_page).limit(per_page))
    return page_of([present(row, now) for row in rows], total, page, per_page)


def update_task(uow, options, task_id, payload: dict, expected_version: int | None = None) -> dict:
    """Title, description, due date, priority; the assignee only by admins and managers.
    ``expected_version`` is the version the caller last read (``If-Match``): another version
    is 412 ``stale``."""
    data = load_or_422(schema_of(TaskUpdateSchema), payload)
    actor = actor_of(uow)
    task = _visible(uow, task_id, actor, for_update=True)
    check_version(task, expected_version, "Task")
    domain.check_open(task, "changed")
    if "due_at" in data and data["due_at"] != task.due_at and data["due_at"] < uow.now():
        raise _invalid("due_at", "Must not be in the past.")
    if "assignee" in data and data["assignee"] != task.assignee:
        domain.check_may_reassign(actor)
        _check_assignee(uow, options, actor, data["assignee"])
    changes = [{"field": name, "before": getattr(task, name), "after": value}
               for name, value in data.items() if getattr(task, name) != value]
    if not changes:
        uow.rollback()
        return present(task, uow.now())
    for change in changes:
        setattr(task, change["field"], change["after"])
    if "due_at" in data:  # a new deadline owes its reminders afresh
        task.due_soon_sent_at = task.overdue_sent_at = None
        task.next_check_at = domain.next_check(task, options.remind_before)
    task.updated_at = uow.now()
    bump_version(task)
    shown = present(task, uow.now())
    uow.emit("task.updated", {"task": shown, "changes": [
        {**change, "before": _json(change["before"]), "after": _json(change["after"])}
        for change in changes]})
    uow.commit()
    return shown


def _json(value):
    return value.isoformat() if isinstance(value, datetime) else value


def complete_task(uow, options, task_id, payload: dict) -> dict:
    data = load_or_422(schema_of(CompleteInputSchema), payload)
    actor = actor_of(uow)
    task = _visible(uow, task_id, actor, for_update=True)
    domain.check_may_complete(actor, task, views.team_of(uow.session, task.assignee))
    domain.check_open(task, "completed")
    close_task(uow, options, task, "done", uow.now(), data["note"])
    uow.commit()
    return present(task, uow.now())


def cancel_task(uow, options, task_id, payload: dict) -> dict:
    data = load_or_422(schema_of(CancelInputSchema), payload)
    actor = actor_of(uow)
    task = _visible(uow, task_id, actor, for_update=True)
    domain.check_may_cancel(actor, task)
    domain.check_open(task, "cancelled")
    close_task(uow, options, task, "cancelled", uow.now(), data["reason"])
    uow.commit()
    return present(task, uow.now())


def summary(uow, options) -> list[dict]:
    """Per assignee: open, due today (in the workflow's time zone), overdue, done in the last
    7 days; scoped like the list."""
    now, actor = uow.now(), actor_of(uow)
    local = now.astimezone(options.zone)
    day_end = schedules.add_days(local.replace(hour=0, minute=0, second=0, microsecond=0), 1,
                                 options.zone)
    is_open = Task.state == "open"
    columns = [
        Task.assignee,
        func.sum(case((is_open, 1), else_=0)),
        func.sum(case((and_(is_open, Task.due_at > now, Task.due_at < day_end), 1), else_=0)),
        func.sum(case((_overdue(now), 1), else_=0)),
        func.sum(case((and_(Task.state == "done", Task.completed_at >= now - timedelta(days=7)),
                       1), else_=0)),
    ]
    statement = select(*columns).group_by(Task.assignee).order_by(Task.assignee)
    if (scope := _scope(actor)) is not None:
        statement = statement.where(scope)
    rows = [{"assignee": row[0], "open": row[1] or 0, "due_today": row[2] or 0,
             "overdue": row[3] or 0, "done_last_7_days": row[4] or 0}
            for row in uow.session.execute(statement)]
    uow.rollback()
    return schema_of(SummaryRowSchema, many=True).dump(rows)


# --- the reminder sweep --------------------------------------------------------------------

def due_tasks_query(now: datetime, limit: int):
    """Due reminders by the ``next_check_at`` index; rows another sweeper (or a request)
    holds are skipped."""
    return (select(Task).where(Task.next_check_at <= now).order_by(Task.next_check_at)
            .limit(limit).with_for_update(skip_locked=True))


def sweep_reminders(uow, options, limit: int = SWEEP_BATCH) -> int:
    """Emit the ``task.due_soon`` and ``task.overdue`` reminders due now, each once; returns
    how many tasks were due."""
    now, session = uow.now(), uow.session
    tasks = session.scalars(due_tasks_query(now, limit)).all()
    for task in tasks:
        for reminder in domain.due_reminders(task, now, options.remind_before):
            domain.mark_reminder(task, reminder, now, options.remind_before)
            uow.emit(reminder, {"task": present(task, now),
                                **_recipients(session, options, task, reminder)})
        task.next_check_at = domain.next_check(task, options.remind_before)
    uow.commit()
    return len(tasks)


def _recipients(session, options, task: Task, reminder: str) -> dict:
    """Who hears of it, decided here (this service knows the teams): an overdue task also
    reaches its creator and the assignee's manager, or the admins."""
    if reminder == domain.DUE_SOON:
        return {"notify": [task.assignee]}
    team = views.team_of(session, task.assignee)
    escalate = domain.escalation(team, views.managers_of(session, team),
                                 views.admins(session, options.admin_username))
    people = [task.assignee, task.created_by, *escalate]
    notify = [name for index, name in enumerate(people)
              if name != SYSTEM_ACTOR and name not in people[:index]]
    return {"notify": notify, "escalated_to": escalate}
