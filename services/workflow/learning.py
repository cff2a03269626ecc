"""The workflow's events, a batch of deliveries at a time in one transaction: the customer and
user views learnt from them, the event history, and the event rules applied (tasks made once
per (rule, event), tasks completed by the events that say the work is done, schedule clocks
started and stopped).

A batch is applied exactly as its events would be one by one, in delivery order: each id is
claimed once (a repeat, in the batch or from before, is skipped); the customer view rows it
touches are locked up front, in key order, so two batches never wait on each other crosswise;
the rules are read once. A payload that does not parse raises before anything is written, so
the batch fails and its consumer tries each delivery alone.

What an event no rule acts on costs is kept small, since most events are such (a new ticket,
a comment): the active rules are kept between batches (:func:`engine.active_rules`), the
batch's history rows are written with one prebuilt statement, and a ticket event touches no
view (the rules read a ticket's facts from its event alone). Every event a rule may name is
still kept in the history, whether a rule acts on it now or not: a rule made later is dry-run
over it, and a task it makes is completed by a completing event that came first."""
from datetime import datetime

from sqlalchemy import insert, select

from services.common.consuming import apply_batch
from services.common.events import parse_envelope
from services.common.schemas import load_or_422, schema_of
from services.workflow import engine, rules, scheduling, tasks, views
from services.workflow.models import SeenEvent, Task
from services.workflow.schemas import event_data_schema

CONSUMER = "workflow"
_SEEN = insert(SeenEvent.__table__)  # built once (compiled once), run with a row per event


def _checked(payload) -> dict:
    envelope = parse_envelope(payload)
    load_or_422(schema_of(event_data_schema(envelope["type"])), envelope["data"])
    return envelope


def handle_events(uow, options, payloads: list) -> int:
    """Apply delivered events in one transaction; returns how many were new (see
    :func:`~services.common.consuming.apply_batch`)."""
    envelopes = [_checked(payload) for payload in payloads]
    return apply_batch(uow, CONSUMER, envelopes, lambda fresh: _Batch(uow, options).apply(fresh))


class _Batch:
    """One batch's state: the locked customer rows, their schedule clocks (read once), the
    active rules, and what is not written yet: the customer rows changed and the history
    rows, one statement each at the end.

    Both are written sooner when a rule is about to make a task, since the task reads the
    customer's owner and :func:`engine.earlier_completion` the history (a completion seen
    earlier in the same batch counts, as it would one by one)."""

    def __init__(self, uow, options):
        self.uow, self.options, self.session = uow, options, uow.session
        self.seen, self.changed = [], {}
        self.fresh = engine.NewTasks()

    def apply(self, envelopes: list[dict]) -> None:
        self.customers, self.made_by = _lock_customers(self.session, envelopes)
        # A ticket has no row here: its events are serialised by the ticket's id, locked by
        # the statement that reads the rules, so a completing event and the one that makes
        # the task, handled at once from their two queues, cannot each miss the other
        # (customers: their view rows, locked above).
        self.active = engine.active_rules(self.session, locking={
            envelope["data"]["ticket"]["id"] for envelope in envelopes
            if envelope["type"].startswith("ticket.") and envelope["type"] in rules.EVENTS})
        self.schedule_rules = [rule for rule in self.active if rules.is_schedule(rule.definition)]
        # A customer row made just now has no clock yet.
        self.clocks = scheduling.clocks_of(self.session,
                                           set(self.customers) - set(self.made_by.values())) \
            if self.schedule_rules else {}
        for envelope in envelopes:
            at = datetime.fromisoformat(envelope["occurred_at"])
            if envelope["id"] not in self.made_by:  # it may read or close them
                self.fresh.write(self.uow)
            if envelope["type"].startswith("user."):
                views.learn_user(self.session, envelope["data"])
            else:
                self._apply(envelope, at)
        self.fresh.write(self.uow)
        self._write_so_far()

    def _apply(self, envelope: dict, at: datetime) -> None:
        event_type, data = envelope["type"], envelope["data"]
        customer = None
        if event_type.startswith("ticket."):
            facts = rules.event_facts(event_type, data)
        else:
            customer = self.customers[data["customer"]["id"]]
            if envelope["id"] in self.made_by:  # its row was inserted as this event leaves it
                previous = views.snapshot(views.blank_customer(customer.id, at))
            else:
                previous = views.snapshot(customer)
                views.learn_customer(event_type, data, at, customer)
                self.changed[customer.id] = customer
            facts = rules.event_facts(event_type, data, previous=previous)
        if event_type in rules.EVENTS:
            self.seen.append({"id": envelope["id"], "type": event_type, "occurred_at": at,
                              "customer_id": facts.get("customer_id"),
                              "ticket_id": facts.get("ticket_id"), "facts": facts})
            self._complete_open_tasks(envelope, facts, at)
            self._make_tasks(envelope, facts, at)
        if customer is not None and self.schedule_rules:
            fresh = self.fresh if envelope["id"] in self.made_by else None
            scheduling.sync_schedules(self.uow, self.options, self.schedule_rules, customer,
                                      at, self.clocks, fresh)

    def _make_tasks(self, envelope: dict, facts: dict, at: datetime) -> None:
        event_type = envelope["type"]
        for rule in self.active:
            if rule.definition["trigger"].get("event") == event_type and \
                    rules.matches(rule.definition["where"], facts):
                self._write_so_far()
                trigger = {"event_id": envelope["id"], "event_type": event_type,
                           "occurred_at": at.isoformat()}
                engine.make_from_rule(self.uow, self.options, rule, envelope["id"], at,
                                      trigger, facts)

    def _write_so_far(self) -> None:
        views.save_customers(self.session, list(self.changed.values()))
        if self.seen:
            self.session.execute(_SEEN, self.seen)
        self.seen, self.changed = [], {}

    def _complete_open_tasks(self, envelope: dict, facts: dict, at: datetime) -> None:
        completing = [rule.id for rule in self.active
                      if envelope["type"] in rule.definition.get("completes_on", [])]
        if not completing:
            return
        subject = Task.ticket_id == facts["ticket_id"] if facts.get("ticket_id") \
            else Task.customer_id == facts.get("customer_id")
        candidates = self.session.scalars(select(Task).where(
            Task.rule_id.in_(completing), Task.state == "open", subject)
            .order_by(Task.id).with_for_update())
        for task in candidates:
            if rules.completes({"ticket_id": task.ticket_id, "customer_id": task.customer_id},
                               facts) and engine.trigger_time(task) < at:
                tasks.close_task(self.uow, self.options, task, "done", at,
                                 engine.completion_note(envelope))


def _lock_customers(session, envelopes: list[dict]) -> tuple[dict, dict]:
    """The customer view rows the events touch, locked, and for those missing until now:
    the id of the event that made the row. A missing row is inserted as that first event
    leaves a blank one (its first update is the insert itself)."""
    firsts = {}
    for envelope in envelopes:
        if not envelope["type"].startswith(("ticket.", "user.")):
            firsts.setdefault(envelope["data"]["customer"]["id"], envelope)
    missing = {}
    for key, envelope in firsts.items():
        at = datetime.fromisoformat(envelope["occurred_at"])
        missing[key] = views.learn_customer(envelope["type"], envelope["data"], at,
                                            views.blank_customer(key, at))
    rows, made = views.lock_customers(session, missing)
    return rows, {firsts[key]["id"]: key for key in made}
