"""Schedule rules at work: each customer's clock per schedule rule, started and stopped as
the customer comes to match the rule or stops, and the sweep of due occurrences with its
catch-up policy (:func:`sweep_all` then runs the reminder sweep). Tasks are made through
:mod:`services.workflow.engine`; the arithmetic of schedules is
:mod:`services.workflow.schedules`."""
from datetime import datetime

from sqlalchemy import delete, func, select

from services.common.db import upsert
from services.workflow import rules, schedules, tasks, views
from services.workflow.engine import NewTasks, make_from_rule, zone_of
from services.workflow.models import CustomerView, Rule, Schedule, Task

SWEEP_BATCH = 200


def clocks_of(session, customer_ids) -> dict:
    """The schedule clocks of these customers by ``(rule id, customer id)``, in one read."""
    if not customer_ids:
        return {}
    return {(row.rule_id, row.customer_id): row for row in session.scalars(
        select(Schedule).where(Schedule.customer_id.in_(sorted(customer_ids))))}


def sync_schedules(uow, options, schedule_rules, customer: CustomerView, at: datetime,
                   clocks: dict, fresh: NewTasks | None = None) -> None:
    """Start the clock of each schedule rule the customer now matches; stop (and cancel the
    open task of) each it no longer matches. ``clocks`` holds the customer's clocks
    (:func:`clocks_of`; a clock started here is kept in it as ``None``, or as the row
    :func:`start_first_clock` added) and is kept current. ``fresh``: the customer's view
    row was made by this event, and the tasks made for it wait there."""
    session = uow.session
    facts = rules.customer_facts(customer_fields(customer), views.status_of(customer, at))
    for rule in schedule_rules:
        matching = not customer.deleted and rules.matches(rule.definition["where"], facts)
        key = (rule.id, customer.id)
        if matching and key not in clocks:
            if fresh is None:
                start_clock(session, options, rule, customer.id, at)
                clocks[key] = None
            else:
                clocks[key] = start_first_clock(uow, options, rule, customer, at, fresh)
        elif not matching and key in clocks:
            row = clocks.pop(key) or session.get(Schedule, key)
            if row is None:
                continue
            if row in session.new:  # started in this transaction, not written yet
                session.expunge(row)
            else:
                session.delete(row)
                session.flush()
            _cancel_open(uow, options, rule, customer.id, at)


def start_clock(session, options, rule: Rule, customer_id: str, at: datetime) -> None:
    """The rule's clock for the customer (unless there), first due at its first occurrence
    from ``at``."""
    first = schedules.first_occurrence(rule.definition["trigger"], at,
                                       zone_of(rule.definition, options))
    session.execute(upsert(session, Schedule.__table__).values(
        rule_id=rule.id, customer_id=customer_id, next_at=first).on_conflict_do_nothing())


def start_first_clock(uow, options, rule: Rule, customer: CustomerView, at: datetime,
                      fresh: NewTasks) -> Schedule:
    """:func:`start_clock` for a customer first seen now (it has no clock and no task yet):
    the occurrences already due are made here, as the sweep would make them (the tasks wait
    in ``fresh``), and the clock starts where the sweep would leave it. So a new customer's
    first follow-up task comes with the event that brought it, not from a sweep round that
    reads its clock back. The clock is added to the session (written with the batch's
    others in one flush) and returned."""
    now = uow.now()
    row = Schedule(rule_id=rule.id, customer_id=customer.id,
                   next_at=schedules.first_occurrence(rule.definition["trigger"], at,
                                                      zone_of(rule.definition, options)))
    if row.next_at <= now:
        _run_occurrences(uow, options, rule, customer, row, now, open_before=False,
                         fresh=fresh)
    uow.session.add(row)
    return row


def customer_fields(customer: CustomerView) -> dict:
    return {"id": customer.id, **{name: getattr(customer, name)
                                  for name in rules.TRACKED_CUSTOMER_FIELDS}}


def _cancel_open(uow, options, rule: Rule, customer_id: str, at: datetime) -> None:
    note = f"The customer no longer matches rule {rule.id} ({rule.name})."
    for task in uow.session.scalars(select(Task).where(
            Task.rule_id == rule.id, Task.customer_id == customer_id, Task.state == "open")
            .order_by(Task.id).with_for_update()):
        tasks.close_task(uow, options, task, "cancelled", at, note)


def enrol_all(uow, options, rule: Rule) -> None:
    """After a schedule rule is made, changed or enabled: a clock for every known customer it
    matches (starting now), none for the others. Open tasks are left as they are."""
    session, now = uow.session, uow.now()
    if not rules.is_schedule(rule.definition) or not rule.enabled or rule.deleted_at is not None:
        session.execute(delete(Schedule).where(Schedule.rule_id == rule.id))
        return
    existing = set(session.scalars(select(Schedule.customer_id).where(Schedule.rule_id == rule.id)))
    for customer in session.scalars(select(CustomerView).where(CustomerView.deleted.is_(False))):
        facts = rules.customer_facts(customer_fields(customer), views.status_of(customer, now))
        matching = rules.matches(rule.definition["where"], facts)
        if matching and customer.id not in existing:
            start_clock(session, options, rule, customer.id, now)
        elif not matching and customer.id in existing:
            session.execute(delete(Schedule).where(Schedule.rule_id == rule.id,
                                                   Schedule.customer_id == customer.id))


def due_schedules_query(now: datetime, limit: int):
    return (select(Schedule).where(Schedule.next_at <= now).order_by(Schedule.next_at)
            .limit(limit).with_for_update(skip_locked=True))


def sweep_schedules(uow, options, limit: int = SWEEP_BATCH) -> int:
    """Make the tasks of the schedule occurrences due now, with the catch-up policy deciding
    about occurrences missed while the service was down; returns how many clocks were due.
    The clocks' customers, and which of their (rule, customer) pairs have an open task, are
    read once for all the due clocks."""
    session, now = uow.session, uow.now()
    rows = session.scalars(due_schedules_query(now, limit)).all()
    customer_ids = sorted({row.customer_id for row in rows})
    customers = {customer.id: customer for customer in session.scalars(
        select(CustomerView).where(CustomerView.id.in_(customer_ids)))} if rows else {}
    open_now = _open_pairs(session, {row.rule_id for row in rows}, customer_ids)
    for row in rows:
        rule = session.get(Rule, row.rule_id)
        customer = customers.get(row.customer_id)
        if rule is None or not rule.enabled or rule.deleted_at is not None or \
                customer is None or customer.deleted:
            session.delete(row)
            continue
        _run_occurrences(uow, options, rule, customer, row, now,
                         (row.rule_id, row.customer_id) in open_now)
    uow.commit()
    return len(rows)


def sweep_all(uow, options) -> None:
    """Due schedule occurrences, then due reminders, batch after batch."""
    while sweep_schedules(uow, options) == SWEEP_BATCH:
        pass
    while tasks.sweep_reminders(uow, options) == tasks.SWEEP_BATCH:
        pass


def next_due(uow) -> datetime | None:
    """When the sweeps next have something to do, as the database stands (None: nothing
    waits): the earliest schedule occurrence or reminder check."""
    session = uow.session
    moments = (session.scalar(select(func.min(Schedule.next_at))),
               session.scalar(select(func.min(Task.next_check_at))))
    return min((moment for moment in moments if moment is not None), default=None)


def _run_occurrences(uow, options, rule: Rule, customer: CustomerView, row: Schedule,
                     now: datetime, open_before: bool, fresh: NewTasks | None = None) -> None:
    """``open_before``: whether a task of this rule for this customer is open. Afterwards
    one is open if one was, or if a task made here was not completed at once.
    ``fresh``: as :func:`make_from_rule` takes it."""
    definition = rule.definition
    trigger, policy = definition["trigger"], definition["catch_up"]
    zone = zone_of(definition, options)
    due = schedules.due_occurrences(trigger, row.next_at, now, zone)
    facts = rules.customer_facts(customer_fields(customer), views.status_of(customer, now))
    made = []
    if rules.matches(definition["where"], facts) and (policy == "all" or not open_before):
        for occurrence in schedules.to_make(due, now, policy):
            info = {"schedule": trigger, "occurrence": occurrence.isoformat(),
                    "customer_id": customer.id, "catch_up": policy,
                    "missed": occurrence < now - schedules.MISSED_AFTER}
            key = f"{customer.id}@{occurrence.isoformat()}"
            made.append(make_from_rule(uow, options, rule, key, occurrence, info, facts,
                                       fresh))
    still_open = open_before or any(task is not None and task.state == "open" for task in made)
    if schedules.pauses_while_open(trigger) and still_open:
        row.next_at = None
    else:
        row.next_at = schedules.following(trigger, due[-1], zone)


def _open_pairs(session, rule_ids, customer_ids) -> set:
    """The ``(rule id, customer id)`` pairs among these with an open task, in one read."""
    if not rule_ids or not customer_ids:
        return set()
    return {tuple(pair) for pair in session.execute(
        select(Task.rule_id, Task.customer_id).where(
            Task.state == "open", Task.rule_id.in_(sorted(rule_ids)),
            Task.customer_id.in_(sorted(customer_ids))).distinct())}
