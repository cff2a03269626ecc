"""The rule engine's use cases: the active rules kept between batches, making a rule's task
once per occurrence, and completing a task with a completing event seen before it. Events
reach it through :mod:`services.workflow.learning`, schedule occurrences through
:mod:`services.workflow.scheduling`."""
import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text

from services.common.context import SYSTEM_ACTOR
from services.common.db import ADVISORY_LOCKS, is_postgres
from services.workflow import rules, schedules, tasks
from services.workflow.models import CustomerView, Occurrence, Rule, SeenEvent, Task


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
