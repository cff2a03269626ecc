"""The rule engine's use cases: making tasks from rules once per occurrence, completing a
task with a completing event seen before it, keeping schedule rules' clocks per customer, and
the schedule sweep with its catch-up policy. Events reach it through
:mod:`services.workflow.learning`."""
import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, text

from services.common.context import SYSTEM_ACTOR
from services.common.db import ADVISORY_LOCKS, is_postgres, upsert
from services.workflow import rules, schedules, tasks, views
from services.workflow.models import CustomerView, Occurrence, Rule, Schedule, SeenEvent, Task

SWEEP_BATCH = 200


def zone_of(definition: dict, options):
    return schedules.zone(definition.get("time_zone") or options.time_zone)


@dataclass(frozen=True)
class ActiveRule:
    """What the event rules need of a rule, kept between batches."""
    id: int
    name: str
    version: int
    definition: dict


# Per engine (one database): the rules' fingerprint and the active rules read with it.
_ACTIVE = weakref.WeakKeyDictionary()


# A row that changes with every write to the rules: each adds a rule, bumps a version or
# deletes one (``deleted_at``), and none undoes another, so a row seen before means the
# rules are as they were then. Built once, on the table (no ORM work to run it).
RULES_FINGERPRINT = select(func.count(), func.coalesce(func.sum(Rule.__table__.c.version), 0),
                           func.count(Rule.__table__.c.deleted_at))
# The same, taking first the advisory locks of the keys ``:keys`` (PostgreSQL).
_LOCKING_FINGERPRINT = RULES_FINGERPRINT.add_columns(text(ADVISORY_LOCKS))


def active_rules(session, locking=()) -> list[ActiveRule]:
    """The enabled rules, oldest first. They are read again only when their fingerprint
    (:data:`RULES_FINGERPRINT`, one small aggregate) differs from the one they were read
    with, so a rule written by any instance counts from the next batch on.

    On PostgreSQL the statement that reads the fingerprint also serialises, until commit,
    the transactions naming any of the keys ``locking`` (records with no row of their own
    to lock): no round trip of its own. The locks go in the order of their hashes, the same
    in every transaction, so two that share keys wait for each other instead of
    deadlocking. What the batch reads after this statement is what the holder committed;
    the fingerprint itself may be from before the wait (a rule written meanwhile counts
    from the next batch). On SQLite every writing transaction is serialised already."""
    if locking and is_postgres(session):
        *fingerprint, _locked = session.execute(_LOCKING_FINGERPRINT,
                                                {"keys": sorted(locking)}).one()
        fingerprint = tuple(fingerprint)
    else:
        fingerprint = tuple(session.execute(RULES_FINGERPRINT).one())
    bind = session.get_bind()
    cached = _ACTIVE.get(bind)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    active = [ActiveRule(rule.id, rule.name, rule.version, rule.definition)
              for rule in session.scalars(select(Rule).where(
                  Rule.enabled.is_(True), Rule.deleted_at.is_(None)).order_by(Rule.id))]
    _ACTIVE[bind] = (fingerprint, active)
    return active


# --- completions ------------------------------------------------------------------------

def completion_note(envelope: dict) -> str:
    return f"Completed by {envelope['type']} (event {envelope['id']})."


def trigger_time(task: Task) -> datetime:
    trigger = task.reason["trigger"]
    return datetime.fromisoformat(trigger.get("occurred_at") or trigger["occurrence"])


# --- making a task from a rule -----------------------------------------------------------

def plan_task(session, options, rule: Rule, trigger_at: datetime, trigger: dict,
              facts: dict) -> dict:
    """What a rule would make for this trigger: the task's fields and its frozen reason."""
    definition, zone = rule.definition, zone_of(rule.definition, options)
    spec = definition["task"]
    ticket_owner = facts.get("owner") if facts.get("ticket_id") else None
    customer_owner = facts.get("owner") if not facts.get("ticket_id") else None
    if customer_owner is None and facts.get("customer_id"):
        known = session.get(CustomerView, facts["customer_id"])
        customer_owner = known.owner if known is not None else None
    assignee = rules.assignee_for(spec["assignee"], customer_owner, ticket_owner)
    reason = rules.reason({"id": rule.id, "name": rule.name, "where": definition["where"]},
                          rule.version, trigger, rules.seen_values(definition["where"], facts),
                          spec, zone)
    if assignee is None:  # the customer is not known here yet: its ticket's owner, or the admin
        assignee = ticket_owner or options.admin_username
        reason["assignee_fallback"] = f"{spec['assignee']} unknown; assigned to {assignee}"
    reason["assignee"] = {"kind": spec["assignee"], "resolved": assignee}
    return {"title": spec["title"], "description": spec.get("description"), "assignee": assignee,
            "priority": spec.get("priority", "medium"),
            "due_at": schedules.add_due(trigger_at, spec, zone),
            "customer_id": facts.get("customer_id"), "ticket_id": facts.get("ticket_id"),
            "reason": reason}


def make_from_rule(uow, options, rule: Rule, key: str, trigger_at: datetime, trigger: dict,
                   facts: dict, fresh: "NewTasks | None" = None) -> Task | None:
    """Make the rule's task for this occurrence once (``(rule, key)`` is unique); a
    completing event seen before it completes it at once.

    ``fresh``: the task is about a customer first seen in this transaction, so neither can
    be there yet (the occurrence key and every event kept about a customer come after its
    view row) and neither is looked up; the task waits in ``fresh`` to be written with the
    others (:meth:`NewTasks.write`)."""
    session = uow.session
    if fresh is None and session.get(Occurrence, (rule.id, key)) is not None:
        return None
    planned = plan_task(session, options, rule, trigger_at, trigger, facts)
    task = tasks.make_task(uow, options, source=f"rule:{rule.id}", rule_id=rule.id,
                           created_by=SYSTEM_ACTOR, announce=fresh is None, **planned)
    if fresh is not None:
        fresh.waiting.append((rule.id, key, task))
        return task
    _occurred(uow, rule.id, key, task)
    earlier = earlier_completion(session, rule.definition, task, trigger_at)
    if earlier is not None:
        tasks.close_task(uow, options, task, "done", earlier.occurred_at,
                         completion_note({"type": earlier.type, "id": earlier.id}))
    return task


def _occurred(uow, rule_id: int, key: str, task: Task) -> None:
    # Written at commit with the other new rows: a second make of the same key in this
    # transaction cannot come (an event is claimed once, a clock swept once per round).
    uow.add_row(Occurrence(rule_id=rule_id, key=key, task_id=task.id, at=uow.now()))


class NewTasks:
    """The tasks made for customers first seen in a batch (their first follow-ups), not yet
    written: :meth:`write` gives them their ids in one flush, then their ``task.created``
    events and occurrence rows. Written before anything else may read or close them."""

    def __init__(self):
        self.waiting = []

    def write(self, uow) -> None:
        if not self.waiting:
            return
        uow.session.flush()
        for rule_id, key, task in self.waiting:
            tasks.announce_created(uow, task)
            _occurred(uow, rule_id, key, task)
        self.waiting = []


def earlier_completion(session, definition: dict, task: Task, since: datetime):
    """A completing event that happened after the trigger but was consumed before it."""
    completes_on = definition.get("completes_on") or []
    if not completes_on:
        return None
    subject = SeenEvent.ticket_id == task.ticket_id if task.ticket_id \
        else SeenEvent.customer_id == task.customer_id
    if task.ticket_id is None and task.customer_id is None:
        return None
    return session.scalars(select(SeenEvent).where(
        SeenEvent.type.in_(completes_on), subject, SeenEvent.occurred_at > since)
        .order_by(SeenEvent.occurred_at)).first()


# --- schedules ---------------------------------------------------------------------------

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
    trigger, zone, policy = definition["trigger"], zone_of(definition, options), definition["catch_up"]
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
