"""Rule matching, facts of events, validation of rule definitions, completion subjects and
the task rules (permissions, reminders, escalation)."""
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from services.common.errors import Forbidden, InvalidTransition, ValidationFailed
from services.workflow import domain, rules
from services.workflow.defaults import DEFAULT_RULES
from services.workflow.rulebook import parse_rule

NOW = datetime(2026, 11, 26, 10, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def customer(**fields):
    return {"id": "2026-TECH-001", "owner": "lina", "grade": "A", "type": "intent",
            "value_tier": "potential", "status": "active", "industry": "TECH", **fields}


def rule(**fields):
    base = {"name": "r", "trigger": {"event": "ticket.transitioned"}, "where": {"to": ["done"]},
            "task": {"title": "t", "due_in_hours": 24, "assignee": "ticket_owner"}}
    return {**base, **fields}


def test_where_accepts_any_listed_value_and_lists_match_on_any_item():
    facts = {"grade": "A", "changed": ["phone", "type"]}
    assert rules.matches({"grade": ["A", "B"]}, facts)
    assert not rules.matches({"grade": ["C"]}, facts)
    assert rules.matches({"changed": ["type"]}, facts)
    assert not rules.matches({"changed": ["grade"]}, facts)
    assert rules.matches({}, facts)
    assert rules.matches({"owner": [None]}, facts)


def test_customer_updated_facts_say_what_changed_and_whether_it_is_the_first_deal():
    data = {"customer": customer(type="deal"), "changes": [{"field": "type"}]}
    facts = rules.event_facts("customer.updated", data, previous={"ever_deal": False})
    assert facts["changed"] == ["type"] and facts["first_deal"] is True
    again = rules.event_facts("customer.updated", data, previous={"ever_deal": True})
    assert again["first_deal"] is False


def test_ticket_facts_include_the_move_and_the_rating():
    ticket = {"id": "T-1", "customer_id": "C-1", "owner": "wang", "state": "done",
              "priority": "high", "category": "complaint", "service_type": "aftersales"}
    moved = rules.event_facts("ticket.transitioned", {"ticket": ticket, "from": "in_progress",
                                                      "to": "done"})
    assert moved["to"] == "done" and moved["owner"] == "wang" and moved["ticket_id"] == "T-1"
    rated = rules.event_facts("ticket.rated", {"ticket": ticket, "rating": {"score": 4}})
    assert rated["score"] == 4


@pytest.mark.parametrize("definition, field", [
    (rule(trigger={"event": "ticket.exploded"}), "trigger.event"),
    (rule(where={"colour": ["red"]}), "where"),
    (rule(completes_on=["ticket.vanished"]), "completes_on"),
    (rule(trigger={"event": "customer.created"}, where={}), "task.assignee"),
    (rule(trigger={"every_days": 7}, where={"to": ["done"]}), "where"),
])
def test_unknown_events_fields_and_assignee_kinds_are_422_naming_them(definition, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_rule(definition)
    assert field in caught.value.details["fields"]


@pytest.mark.parametrize("definition, field", [
    (rule(trigger={"every_days": 7, "event": "ticket.created"}), "trigger"),
    (rule(task={"title": "t", "assignee": "owner"}), "task"),
    (rule(time_zone="Mars/Olympus"), "time_zone"),
    (rule(catch_up="sometimes"), "catch_up"),
])
def test_shapes_are_checked_by_the_schema(definition, field):
    with pytest.raises(ValidationFailed) as caught:
        parse_rule(definition)
    assert field in caught.value.details["fields"]


@pytest.mark.parametrize("key", sorted(DEFAULT_RULES))
def test_every_shipped_rule_is_valid(key):
    parse_rule(DEFAULT_RULES[key])


def test_assignee_kinds():
    assert rules.assignee_for("owner", "lina", "wang") == "lina"
    assert rules.assignee_for("ticket_owner", "lina", "wang") == "wang"
    assert rules.assignee_for("zhao", "lina", "wang") == "zhao"


def test_a_completing_event_closes_the_same_ticket_or_else_the_same_customer():
    assert rules.completes({"ticket_id": "T-1", "customer_id": "C"}, {"ticket_id": "T-1"})
    assert not rules.completes({"ticket_id": "T-1", "customer_id": "C"},
                               {"ticket_id": "T-2", "customer_id": "C"})
    assert rules.completes({"ticket_id": None, "customer_id": "C"}, {"customer_id": "C"})
    assert not rules.completes({"ticket_id": None, "customer_id": None}, {"customer_id": None})


def test_reason_freezes_rule_version_trigger_seen_values_and_formula():
    made = rules.reason({"id": 3, "name": "n", "where": {"grade": ["A"]}}, 2,
                        {"event_id": "e", "event_type": "customer.updated"},
                        {"grade": "A"}, {"due_in_days": 7}, ZoneInfo("Asia/Shanghai"))
    assert made["rule_id"] == 3 and made["rule_version"] == 2
    assert made["seen"] == {"grade": "A"} and "7 days" in made["due_formula"]


# --- tasks ---------------------------------------------------------------------------

def task(**fields):
    base = {"id": 1, "assignee": "lina", "created_by": "boss", "state": "open", "due_at": NOW,
            "due_soon_sent_at": None, "overdue_sent_at": None, "next_check_at": None,
            "version": 1}
    return SimpleNamespace(**{**base, **fields})


ADMIN = domain.Actor("root", "admin")
MANAGER = domain.Actor("mgr", "manager", "east")
SALES = domain.Actor("lina", "sales", "east")


def test_who_may_assign():
    domain.check_may_assign(ADMIN, "anyone", None)
    domain.check_may_assign(MANAGER, "lina", "east")
    domain.check_may_assign(SALES, "lina", "east")
    with pytest.raises(Forbidden):
        domain.check_may_assign(MANAGER, "zhao", "west")
    with pytest.raises(Forbidden):
        domain.check_may_assign(SALES, "wang", "east")


def test_who_may_see_complete_and_cancel():
    theirs = task(assignee="wang", created_by="wang")
    assert domain.may_see(ADMIN, theirs, "west")
    assert domain.may_see(MANAGER, theirs, "east") and not domain.may_see(MANAGER, theirs, "west")
    assert not domain.may_see(SALES, theirs, "east")
    assert domain.may_see(SALES, task(created_by="lina", assignee="wang"), None)
    domain.check_may_complete(MANAGER, theirs, "east")
    with pytest.raises(Forbidden):
        domain.check_may_complete(SALES, theirs, "east")
    domain.check_may_cancel(MANAGER, theirs)
    with pytest.raises(Forbidden):
        domain.check_may_cancel(SALES, theirs)
    with pytest.raises(Forbidden):
        domain.check_may_reassign(SALES)


def test_closing_a_closed_task_is_an_invalid_transition():
    with pytest.raises(InvalidTransition):
        domain.check_open(task(state="done"), "completed")
    domain.check_open(task(), "completed")


def test_reminders_are_owed_once_each_in_order():
    item = task(due_at=NOW + 2 * HOUR)
    assert domain.next_check(item, HOUR) == NOW + HOUR
    assert domain.due_reminders(item, NOW, HOUR) == []
    assert domain.due_reminders(item, NOW + HOUR, HOUR) == [domain.DUE_SOON]
    domain.mark_reminder(item, domain.DUE_SOON, NOW + HOUR, HOUR)
    assert item.next_check_at == NOW + 2 * HOUR
    assert domain.due_reminders(item, NOW + HOUR, HOUR) == []
    assert domain.due_reminders(item, NOW + 2 * HOUR, HOUR) == [domain.OVERDUE]
    domain.mark_reminder(item, domain.OVERDUE, NOW + 2 * HOUR, HOUR)
    assert item.next_check_at is None
    assert domain.due_reminders(item, NOW + 9 * HOUR, HOUR) == []


def test_a_task_found_late_gets_only_the_overdue_reminder_and_closed_tasks_none():
    late = task(due_at=NOW - HOUR)
    assert domain.due_reminders(late, NOW, HOUR) == [domain.OVERDUE]
    assert domain.due_reminders(task(state="done", due_at=NOW - HOUR), NOW, HOUR) == []
    assert domain.next_check(task(state="cancelled"), HOUR) is None


def test_overdue_escalates_to_the_team_managers_or_else_the_admins():
    assert domain.escalation("east", ["mgr2", "mgr"], ["root"]) == ["mgr", "mgr2"]
    assert domain.escalation(None, [], ["root", "admin"]) == ["admin", "root"]
    assert domain.escalation("west", [], ["root"]) == ["root"]
