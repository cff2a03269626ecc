"""Rule matching in plain Python: what each event tells a rule (its *facts*), whether a rule's
conditions hold, who gets the task, which open tasks an event completes, and the ``reason``
frozen into every task. Nothing here knows about Nameko, Flask or SQL.

A rule: ``{trigger, where, task: {title, description, due_in_hours | due_in_days, priority,
assignee}, completes_on, time_zone, catch_up}``. ``where`` maps a fact to its accepted values;
a fact that is a list (``changed``) matches when any of its items is accepted.
"""
from services.common.errors import ValidationFailed
from services.workflow import schedules

CUSTOMER_FACTS = ("customer_id", "owner", "grade", "type", "value_tier", "status", "industry")
TICKET_FACTS = ("ticket_id", "customer_id", "owner", "state", "priority", "category",
                "service_type")
# Events a rule may start from or complete on, with the facts each offers and whether its
# subject is the customer or the ticket.
EVENTS = {
    "customer.created": ("customer", CUSTOMER_FACTS + ("changed", "first_deal")),
    "customer.updated": ("customer", CUSTOMER_FACTS + ("changed", "first_deal")),
    "followup.logged": ("customer", CUSTOMER_FACTS + ("channel", "outcome")),
    "customer.churn_risk": ("customer", CUSTOMER_FACTS),
    "ticket.created": ("ticket", TICKET_FACTS),
    "ticket.updated": ("ticket", TICKET_FACTS),
    "ticket.assigned": ("ticket", TICKET_FACTS),
    "ticket.transitioned": ("ticket", TICKET_FACTS + ("from", "to")),
    "ticket.commented": ("ticket", TICKET_FACTS),
    "ticket.rated": ("ticket", TICKET_FACTS + ("score", "nps_score")),
    "ticket.dissatisfied": ("ticket", TICKET_FACTS + ("score", "nps_score")),
}
SCHEDULE_FACTS = CUSTOMER_FACTS
ASSIGNEE_KINDS = ("owner", "ticket_owner")
TRACKED_CUSTOMER_FIELDS = ("owner", "grade", "type", "value_tier", "industry")


def _invalid(field: str, message: str):
    return ValidationFailed(f"{field}: {message}", {"fields": {field: [message]}})


def is_schedule(rule: dict) -> bool:
    return "event" not in rule["trigger"]


def check_rule(rule: dict) -> None:
    """Refuse unknown events, facts and assignee kinds with a 422 naming them (the schema
    has already checked shapes and types)."""
    trigger = rule["trigger"]
    if is_schedule(rule):
        allowed = SCHEDULE_FACTS
    else:
        if trigger["event"] not in EVENTS:
            raise _invalid("trigger.event", f"Unknown event {trigger['event']}; known: "
                           f"{', '.join(EVENTS)}.")
        allowed = EVENTS[trigger["event"]][1]
        if rule["task"]["assignee"] == "ticket_owner" and EVENTS[trigger["event"]][0] != "ticket":
            raise _invalid("task.assignee", "ticket_owner needs a ticket event.")
    unknown = sorted(set(rule.get("where", {})) - set(allowed))
    if unknown:
        raise _invalid("where", f"Unknown fields {', '.join(unknown)}; known: {', '.join(allowed)}.")
    for event in rule.get("completes_on", []):
        if event not in EVENTS:
            raise _invalid("completes_on", f"Unknown event {event}.")


def matches(where: dict, facts: dict) -> bool:
    for name, accepted in where.items():
        value = facts.get(name)
        values = value if isinstance(value, list) else [value]
        if not any(item in accepted for item in values):
            return False
    return True


def seen_values(where: dict, facts: dict) -> dict:
    """The values the conditions looked at, for the ``reason``."""
    return {name: facts.get(name) for name in where}


def customer_facts(customer: dict, status: str) -> dict:
    """The facts of a customer as the workflow's view knows it."""
    return {"customer_id": customer["id"], "status": status,
            **{name: customer.get(name) for name in TRACKED_CUSTOMER_FIELDS}}


def event_facts(event_type: str, data: dict, status: str | None = None,
                previous: dict | None = None) -> dict:
    """The facts an event offers its rules. ``previous`` is the customer as known before
    (None for a customer first seen), used for ``changed`` and ``first_deal``."""
    if event_type.startswith("ticket."):
        ticket = data["ticket"]
        facts = {"ticket_id": ticket["id"], "customer_id": ticket.get("customer_id"),
                 **{name: ticket.get(name) for name in TICKET_FACTS[2:]}}
        if event_type == "ticket.transitioned":
            facts.update({"from": data.get("from"), "to": data.get("to")})
        if event_type in ("ticket.rated", "ticket.dissatisfied"):
            rating = data.get("rating") or {}
            facts.update({"score": rating.get("score"), "nps_score": rating.get("nps_score")})
        return facts
    customer = data["customer"]
    facts = customer_facts(customer, status or customer.get("status"))
    if event_type == "followup.logged":
        followup = data.get("followup") or {}
        facts.update({"channel": followup.get("channel"), "outcome": followup.get("outcome")})
        return facts
    if event_type == "customer.updated":
        facts["changed"] = sorted(change["field"] for change in data.get("changes", []))
    else:
        facts["changed"] = sorted(name for name in customer if customer.get(name) is not None)
    was_deal = previous is not None and previous.get("ever_deal")
    facts["first_deal"] = customer.get("type") == "deal" and not was_deal
    return facts


def subject_of(event_type: str, facts: dict) -> tuple[str, str | None]:
    """``("ticket", id)`` or ``("customer", id)``: what a task from this event is about."""
    kind = EVENTS[event_type][0]
    return kind, facts.get(f"{kind}_id")


def assignee_for(kind: str, customer_owner: str | None, ticket_owner: str | None) -> str | None:
    """``owner`` (the customer's), ``ticket_owner``, or a username taken as it is."""
    if kind == "owner":
        return customer_owner
    if kind == "ticket_owner":
        return ticket_owner
    return kind


def completes(task_subject: dict, event_facts_: dict) -> bool:
    """A completing event closes the task about the same ticket, or else the same customer."""
    if task_subject.get("ticket_id") and event_facts_.get("ticket_id"):
        return task_subject["ticket_id"] == event_facts_["ticket_id"]
    return bool(task_subject.get("customer_id")) and \
        task_subject.get("customer_id") == event_facts_.get("customer_id")


def reason(rule: dict, version: int, trigger: dict, seen: dict, task: dict, tz) -> dict:
    """The explanation written with a task and never rewritten: rule id and version, the
    trigger (event id and type, or the schedule occurrence), the values the conditions saw
    and the due-date formula."""
    return {"rule_id": rule["id"], "rule_version": version, "rule_name": rule["name"],
            "trigger": trigger, "conditions": rule.get("where", {}), "seen": seen,
            "due_formula": schedules.due_formula(task, tz)}
