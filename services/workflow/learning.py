"""The workflow's events, a batch of deliveries at a time in one transaction: the customer,
ticket and user views learnt from them, the event history, and the event rules applied
(tasks made once per (rule, event), tasks completed by the events that say the work is done,
schedule clocks started and stopped).

A batch is applied exactly as its events would be one by one, in delivery order: each id is
claimed once (a repeat, in the batch or from before, is skipped); the view rows it touches
are locked up front, in key order, so two batches never wait on each other crosswise; the
rules are read once. A payload that does not parse raises before anything is written, so the
batch fails and its consumer tries each delivery alone."""
from datetime import datetime

from sqlalchemy import select

from services.common.consuming import apply_batch
from services.common.events import parse_envelope
from services.common.schemas import load_or_422, schema_of
from services.workflow import engine, rules, tasks, views
from services.workflow.models import CustomerView, SeenEvent, Task, TicketView
from services.workflow.schemas import event_data_schema

CONSUMER = "workflow"


def _checked(payload) -> dict:
    envelope = parse_envelope(payload)
    load_or_422(schema_of(event_data_schema(envelope["type"])), envelope["data"])
    return envelope


def handle_events(uow, options, payloads: list) -> int:
    """Apply delivered events in one transaction; returns how many were new (see
    :func:`~services.common.consuming.apply_batch`)."""
    envelopes = [_checked(payload) for payload in payloads]
    return apply_batch(uow, CONSUMER, envelopes, lambda fresh: _apply_all(uow, options, fresh))


def _apply_all(uow, options, envelopes: list[dict]) -> None:
    session = uow.session
    customers, tickets = _lock_views(session, envelopes)
    active = engine.active_rules(session)
    for envelope in envelopes:
        at = datetime.fromisoformat(envelope["occurred_at"])
        if envelope["type"].startswith("user."):
            views.learn_user(session, envelope["data"])
        else:
            _apply(uow, options, active, envelope, at, customers, tickets)


def _lock_views(session, envelopes: list[dict]) -> tuple[dict, dict]:
    """The customer and ticket view rows the events touch, locked (customers, then tickets);
    a row is made blank, as of its first event, if missing."""
    customers, tickets = {}, {}
    for envelope in envelopes:
        data, at = envelope["data"], datetime.fromisoformat(envelope["occurred_at"])
        if envelope["type"].startswith("ticket."):
            key = data["ticket"]["id"]
            tickets.setdefault(key, {"id": key, "as_of": at})
        elif not envelope["type"].startswith("user."):
            key = data["customer"]["id"]
            customers.setdefault(key, {"id": key, "ever_deal": False, "deleted": False,
                                       "as_of": at})
    return (views.locked_rows(session, CustomerView, customers),
            views.locked_rows(session, TicketView, tickets))


def _apply(uow, options, active, envelope: dict, at: datetime, customers: dict,
           tickets: dict) -> None:
    session, event_type, data = uow.session, envelope["type"], envelope["data"]
    customer = None
    if event_type.startswith("ticket."):
        views.learn_ticket(tickets[data["ticket"]["id"]], data, at)
        facts = rules.event_facts(event_type, data)
    else:
        row = customers[data["customer"]["id"]]
        previous = views.snapshot(row)
        customer = views.learn_customer(event_type, data, at, row)
        facts = rules.event_facts(event_type, data, previous=previous)
    if event_type in rules.EVENTS:
        session.add(SeenEvent(id=envelope["id"], type=event_type, occurred_at=at,
                              customer_id=facts.get("customer_id"),
                              ticket_id=facts.get("ticket_id"), facts=facts))
        _complete_open_tasks(uow, options, active, envelope, facts, at)
        for rule in active:
            if rule.definition["trigger"].get("event") == event_type and \
                    rules.matches(rule.definition["where"], facts):
                trigger = {"event_id": envelope["id"], "event_type": event_type,
                           "occurred_at": at.isoformat()}
                engine.make_from_rule(uow, options, rule, envelope["id"], at, trigger, facts)
    if customer is not None:
        engine.sync_schedules(uow, options,
                              [rule for rule in active if rules.is_schedule(rule.definition)],
                              customer, at)


def _complete_open_tasks(uow, options, active, envelope, facts: dict, at: datetime) -> None:
    completing = [rule.id for rule in active
                  if envelope["type"] in rule.definition.get("completes_on", [])]
    if not completing:
        return
    subject = Task.ticket_id == facts["ticket_id"] if facts.get("ticket_id") \
        else Task.customer_id == facts.get("customer_id")
    candidates = uow.session.scalars(select(Task).where(
        Task.rule_id.in_(completing), Task.state == "open", subject)
        .order_by(Task.id).with_for_update())
    for task in candidates:
        if rules.completes({"ticket_id": task.ticket_id, "customer_id": task.customer_id}, facts) \
                and engine.trigger_time(task) < at:
            tasks.close_task(uow, options, task, "done", at, engine.completion_note(envelope))
