"""Dry runs: what a new or edited rule would have made from the events this service has
seen in a range (event rules), or from its occurrences in that range for the customers it
matches now (schedule rules). Nothing is written."""
from sqlalchemy import select

from services.common.schemas import load_or_422, schema_of
from services.workflow import engine, rulebook, rules, schedules, scheduling, views
from services.workflow.models import CustomerView, Rule, SeenEvent
from services.workflow.schemas import DryRunInputSchema, DryRunSchema

MAX_TASKS = 1000


def dry_run(uow, options, payload: dict) -> dict:
    request = load_or_422(schema_of(DryRunInputSchema), payload)
    definition = rulebook.parse_rule(request["rule"])
    rule = Rule(id=None, name=definition["name"], version=0, definition=definition)
    start, end = request["from_"], request["to"]
    if rules.is_schedule(definition):
        examined, planned = _schedule(uow.session, options, rule, start, end)
    else:
        examined, planned = _events(uow.session, options, rule, start, end)
    uow.rollback()
    return schema_of(DryRunSchema).dump({"events_examined": examined, "tasks": planned[:MAX_TASKS]})


def _would_make(session, options, rule: Rule, trigger_at, trigger: dict, facts: dict) -> dict:
    planned = engine.plan_task(session, options, rule, trigger_at, trigger, facts)
    probe = _Probe(planned.get("ticket_id"), planned.get("customer_id"))
    completed = engine.earlier_completion(session, rule.definition, probe, trigger_at)
    return {**planned, "state": "done" if completed is not None else "open"}


class _Probe:
    """The subject of a task not made, for :func:`engine.earlier_completion`."""

    def __init__(self, ticket_id, customer_id):
        self.ticket_id, self.customer_id = ticket_id, customer_id


def _events(session, options, rule: Rule, start, end) -> tuple[int, list]:
    event_type = rule.definition["trigger"]["event"]
    seen = session.scalars(select(SeenEvent).where(
        SeenEvent.type == event_type, SeenEvent.occurred_at >= start, SeenEvent.occurred_at <= end)
        .order_by(SeenEvent.occurred_at, SeenEvent.id)).all()
    planned = [
        _would_make(session, options, rule, event.occurred_at,
                    {"event_id": event.id, "event_type": event.type,
                     "occurred_at": event.occurred_at.isoformat()}, event.facts)
        for event in seen if rules.matches(rule.definition["where"], event.facts)]
    return len(seen), planned


def _schedule(session, options, rule: Rule, start, end) -> tuple[int, list]:
    trigger, zone = rule.definition["trigger"], engine.zone_of(rule.definition, options)
    planned, customers = [], session.scalars(select(CustomerView).where(
        CustomerView.deleted.is_(False)).order_by(CustomerView.id)).all()
    for customer in customers:
        facts = rules.customer_facts(scheduling.customer_fields(customer),
                                     views.status_of(customer, end))
        if not rules.matches(rule.definition["where"], facts):
            continue
        moment = schedules.first_occurrence(trigger, start, zone)
        while moment <= end and len(planned) < MAX_TASKS:
            info = {"schedule": trigger, "occurrence": moment.isoformat(),
                    "customer_id": customer.id}
            planned.append(_would_make(session, options, rule, moment, info, facts))
            moment = schedules.following(trigger, moment, zone)
    return 0, planned
