"""The workflow service in a real container on a throwaway RabbitMQ vhost and a fresh
PostgreSQL database, with the real customer service beside it; time comes from a
ManualClock and the sweep runs when a test says so."""
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from nameko.amqp.publish import Publisher
from nameko.events import get_event_exchange
from nameko.testing.services import entrypoint_hook
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.clock import ManualClock
from services.common.db import make_engine
from services.common.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from services.common.events import make_envelope
from services.customer.service import CustomerService
from services.workflow.models import Outbox
from services.workflow.service import WorkflowService
from tests.support.customers import customer_payload
from tests.support.waiting import wait_until

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
ADMIN = {"actor": "admin", "actor_role": "admin"}
HOUR = timedelta(hours=1)


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def config(make_config, clock):
    return make_config("customer", "workflow", clock=clock, WORKFLOW_SWEEP_SECONDS="3600")


@pytest.fixture
def services(runner_factory, config):
    runner = runner_factory(config, CustomerService, WorkflowService)
    runner.start()
    return runner


def call(runner, method, *args, service="workflow", who=ADMIN):
    with entrypoint_hook(runner.service_map[service], method, context_data=who) as hook:
        return hook(*args)


def as_user(username, role="sales"):
    return {"actor": username, "actor_role": role}


def event(event_type: str, data: dict, at: datetime, source: str) -> dict:
    return make_envelope(event_type, data, source, uuid.uuid4().hex, at)


def ticket_event(event_type, ticket_id, at, **data):
    ticket = {"id": ticket_id, "customer_id": "2026-TECH-001", "owner": "wang", "state": "done",
              "priority": "medium", "category": "inquiry", "service_type": "aftersales"}
    return event(event_type, {"ticket": ticket, **data}, at, "tickets")


def handle(runner, envelope):
    call(runner, "handle_event", [envelope])


def publish(amqp_uri: str, envelope: dict) -> None:
    exchange = get_event_exchange(envelope["source"], {})
    Publisher(amqp_uri, declare=[exchange]).publish(envelope, exchange=exchange,
                                                    routing_key=envelope["type"])


def tasks(runner, **query):
    return call(runner, "list_tasks", {"per_page": 200, **query})["items"]


def from_rule(runner, key, **query):
    rule = next(rule for rule in call(runner, "list_rules") if rule["default_key"] == key)
    return [task for task in tasks(runner, **query) if task["source"] == f"rule:{rule['id']}"]


def user(runner, username, role="sales", team=None):
    handle(runner, event("user.created", {"user": {"username": username, "role": role,
                                                   "team": team, "active": True,
                                                   "email": f"{username}@example.com"}},
                         START, "gateway"))


def outbox(config, *types):
    engine = make_engine(config["DESKFLOW_SETTINGS"].database_url("workflow"))
    try:
        with Session(engine) as session:
            rows = session.scalars(select(Outbox).where(Outbox.event_type.in_(types))).all()
            return [(row.event_type, row.envelope["data"]) for row in rows]
    finally:
        engine.dispose()


# --- tasks -----------------------------------------------------------------------------

def test_tasks_are_scoped_checked_and_closed_once(services, clock):
    user(services, "lina")
    user(services, "wang")
    mine = call(services, "create_task", {"title": "Call back", "due_at": (START + HOUR).isoformat()},
                who=as_user("lina"))
    assert mine["assignee"] == "lina" and mine["state"] == "open" and mine["source"] == "manual"
    with pytest.raises(Forbidden):
        call(services, "create_task", {"title": "x", "assignee": "wang",
                                       "due_at": (START + HOUR).isoformat()}, who=as_user("lina"))
    with pytest.raises(ValidationFailed) as past:
        call(services, "create_task", {"title": "x", "due_at": (START - HOUR).isoformat()})
    assert "due_at" in past.value.details["fields"]
    with pytest.raises(ValidationFailed) as nobody:
        call(services, "create_task", {"title": "x", "assignee": "ghost",
                                       "due_at": (START + HOUR).isoformat()})
    assert "assignee" in nobody.value.details["fields"]
    with pytest.raises(ValidationFailed) as unknown:
        call(services, "create_task", {"title": "x", "customer_id": "2026-TECH-404",
                                       "due_at": (START + HOUR).isoformat()})
    assert "customer_id" in unknown.value.details["fields"]
    with pytest.raises(NotFound):
        call(services, "get_task", mine["id"], who=as_user("wang"))
    assert call(services, "list_tasks", {}, who=as_user("wang"))["total"] == 0
    done = call(services, "complete_task", mine["id"], {"note": "Called, all fine"},
                who=as_user("lina"))
    assert done["state"] == "done" and done["completion_note"] == "Called, all fine"
    with pytest.raises(InvalidTransition):
        call(services, "cancel_task", mine["id"], {"reason": "late"})


def test_mine_is_open_tasks_soonest_first_then_high_priority(services):
    user(services, "lina")
    due = (START + 5 * HOUR).isoformat()
    low = call(services, "create_task", {"title": "low", "priority": "low", "due_at": due,
                                         "assignee": "lina"})
    high = call(services, "create_task", {"title": "high", "priority": "high", "due_at": due,
                                          "assignee": "lina"})
    soon = call(services, "create_task", {"title": "soon", "due_at": (START + HOUR).isoformat(),
                                          "assignee": "lina"})
    listed = call(services, "list_tasks", {"mine": "true"}, who=as_user("lina"))["items"]
    assert [task["id"] for task in listed] == [soon["id"], high["id"], low["id"]]
    (row,) = call(services, "task_summary", who=as_user("lina"))
    assert row == {"assignee": "lina", "open": 3, "due_today": 3, "overdue": 0,
                   "done_last_7_days": 0}


# --- event rules ---------------------------------------------------------------------------

def test_a_duplicated_event_makes_one_task(services, config):
    """The same ``ticket.transitioned`` published five times over the broker: one feedback
    task, due 24 hours after the event happened."""
    done = ticket_event("ticket.transitioned", "2026-TECH-001-001", START - 2 * HOUR,
                        **{"from": "in_progress", "to": "done"})
    for _ in range(5):
        publish(config["AMQP_URI"], done)
    made = wait_until(lambda: from_rule(services, "ticket_feedback"), timeout=30)
    eventlet.sleep(1)  # time for the other four deliveries
    (task,) = from_rule(services, "ticket_feedback")
    assert task["assignee"] == "wang" and task["ticket_id"] == "2026-TECH-001-001"
    assert datetime.fromisoformat(task["due_at"]) == START - 2 * HOUR + timedelta(hours=24)
    assert task["reason"]["trigger"]["event_id"] == done["id"]
    assert task["reason"]["seen"] == {"to": "done"}
    assert made


def test_a_rating_consumed_before_the_done_event_still_completes_the_task(services, clock):
    done_at = START
    rated = ticket_event("ticket.rated", "2026-TECH-001-002", done_at + HOUR, rating={"score": 5})
    done = ticket_event("ticket.transitioned", "2026-TECH-001-002", done_at,
                        **{"from": "in_progress", "to": "done"})
    handle(services, rated)
    handle(services, done)
    (task,) = from_rule(services, "ticket_feedback")
    assert task["state"] == "done"
    assert rated["id"] in task["completion_note"] and "ticket.rated" in task["completion_note"]


def test_a_rating_after_the_done_event_completes_the_open_task(services):
    handle(services, ticket_event("ticket.transitioned", "T-3", START, **{"to": "done"}))
    assert from_rule(services, "ticket_feedback")[0]["state"] == "open"
    handle(services, ticket_event("ticket.rated", "T-3", START + HOUR, rating={"score": 2}))
    assert from_rule(services, "ticket_feedback")[0]["state"] == "done"


def test_a_dissatisfied_customer_gets_a_follow_up_task_for_the_ticket_owner(services):
    handle(services, ticket_event("ticket.dissatisfied", "T-4", START, rating={"score": 1}))
    (task,) = from_rule(services, "dissatisfied_followup")
    assert (task["assignee"], task["ticket_id"], task["priority"]) == ("wang", "T-4", "high")
    assert datetime.fromisoformat(task["due_at"]) == START + timedelta(hours=24)


def test_reason_is_frozen_when_the_rule_is_edited(services):
    rule = next(rule for rule in call(services, "list_rules")
                if rule["default_key"] == "ticket_feedback")
    handle(services, ticket_event("ticket.transitioned", "T-4", START, **{"to": "done"}))
    (before,) = from_rule(services, "ticket_feedback")
    edited = {name: rule[name] for name in ("name", "enabled", "trigger", "where", "task",
                                            "completes_on", "catch_up")}
    edited["task"] = {**edited["task"], "due_in_hours": 48, "title": "Call for feedback"}
    changed = call(services, "update_rule", rule["id"], edited)
    assert changed["version"] == rule["version"] + 1
    handle(services, ticket_event("ticket.transitioned", "T-5", START, **{"to": "done"}))
    after = {task["ticket_id"]: task for task in from_rule(services, "ticket_feedback")}
    assert after["T-4"]["reason"] == before["reason"] and after["T-4"]["title"] == before["title"]
    assert after["T-5"]["reason"]["rule_version"] == changed["version"]
    assert after["T-5"]["title"] == "Call for feedback"


def test_a_deal_makes_the_letter_task_for_the_owner_72_hours_after_the_change(services, clock):
    created = call(services, "create", customer_payload(name="Deal Co", owner="lina"),
                   service="customers", who=as_user("lina"))
    converted_at = clock.now() + HOUR
    clock.set(converted_at)
    call(services, "update", created["id"], {"type": "deal", "deal_amount": 200000,
                                             "deal_product": "Suite", "signed_date": "2026-11-02"},
         service="customers", who=as_user("lina"))
    (letter,) = wait_until(lambda: from_rule(services, "deal_letter"), timeout=30)
    assert letter["assignee"] == "lina" and letter["customer_id"] == created["id"]
    assert datetime.fromisoformat(letter["due_at"]) == converted_at + timedelta(hours=72)
    feedback = wait_until(lambda: from_rule(services, "first_deal_feedback"), timeout=30)
    assert datetime.fromisoformat(feedback[0]["due_at"]) == converted_at + timedelta(days=7)


# --- schedule rules ------------------------------------------------------------------------

def customer_event(event_type, customer_id, at, **fields):
    customer = {"id": customer_id, "name": "Acme", "owner": "lina", "grade": "A",
                "type": "intent", "value_tier": "potential", "industry": "TECH",
                "last_activity_at": at.isoformat(), **fields}
    return event(event_type, {"customer": customer, "changes": []}, at, "customers")


def sweep(runner):
    call(runner, "sweep")


def test_grade_a_gets_a_weekly_task_completed_by_a_followup_and_the_next_is_due_a_week_later(
        services, clock):
    handle(services, customer_event("customer.created", "C-A", START))
    sweep(services)
    (first,) = from_rule(services, "grade_followup_A")
    assert datetime.fromisoformat(first["due_at"]) == START + timedelta(days=7)
    logged_at = START + timedelta(days=2)
    clock.set(logged_at + HOUR)
    handle(services, event("followup.logged", {"customer": customer_event(
        "x", "C-A", logged_at)["data"]["customer"], "followup": {"channel": "phone"}},
        logged_at, "customers"))
    sweep(services)
    by_state = {task["state"]: task for task in from_rule(services, "grade_followup_A")}
    assert by_state["done"]["id"] == first["id"]
    assert "followup.logged" in by_state["done"]["completion_note"]
    assert datetime.fromisoformat(by_state["open"]["due_at"]) == logged_at + timedelta(days=7)


def test_a_customer_that_stops_matching_has_its_task_cancelled_and_the_new_rule_takes_over(
        services, clock):
    handle(services, customer_event("customer.created", "C-AB", START))
    sweep(services)
    assert [task["state"] for task in from_rule(services, "grade_followup_A")] == ["open"]
    clock.advance(3600)
    handle(services, customer_event("customer.updated", "C-AB", START + HOUR, grade="B"))
    sweep(services)
    (cancelled,) = from_rule(services, "grade_followup_A")
    assert cancelled["state"] == "cancelled" and "no longer matches" in cancelled["cancel_reason"]
    (grade_b,) = from_rule(services, "grade_followup_B")
    assert datetime.fromisoformat(grade_b["due_at"]) == START + HOUR + timedelta(days=14)


WEEKLY = {"name": "Weekly check", "trigger": {"every_days": 7}, "where": {"industry": ["FIN"]},
          "task": {"title": "Weekly check", "due_in_hours": 24, "assignee": "owner"},
          "completes_on": ["followup.logged"], "time_zone": "UTC"}


@pytest.mark.parametrize("policy, expected_weeks", [("latest", [4]), ("all", [2, 3, 4]),
                                                    ("skip", [])])
def test_occurrences_missed_while_down_are_made_per_the_catch_up_policy(
        runner_factory, config, clock, policy, expected_weeks):
    """A weekly rule; its first task is completed, then the service is stopped for three
    weeks (a moved clock). On restart the missed occurrences are made per the policy, each
    with its original due date."""
    runner = runner_factory(config, CustomerService, WorkflowService)
    runner.start()
    rule = call(runner, "create_rule", {**WEEKLY, "catch_up": policy})
    handle(runner, customer_event("customer.created", "C-W", START, industry="FIN"))
    sweep(runner)
    (first,) = [task for task in tasks(runner) if task["source"] == f"rule:{rule['id']}"]
    clock.advance(3600)
    call(runner, "complete_task", first["id"], {"note": "checked"})  # next due START+1h+7d
    runner.stop()
    clock.set(START + HOUR + timedelta(days=7 * 3, hours=-24) + timedelta(days=1, minutes=-30))
    restarted = runner_factory(config, CustomerService, WorkflowService)
    restarted.start()
    sweep(restarted)
    sweep(restarted)
    made = [task for task in tasks(restarted) if task["source"] == f"rule:{rule['id']}"
            and task["id"] != first["id"]]
    week = lambda n: START + HOUR + timedelta(days=7 * (n - 1))  # noqa: E731
    assert sorted(datetime.fromisoformat(task["due_at"]) for task in made) == \
        [week(n) for n in expected_weeks]
    for task in made:
        assert task["reason"]["trigger"]["catch_up"] == policy
        assert task["reason"]["trigger"]["missed"] is (policy != "skip")


# --- reminders -------------------------------------------------------------------------------

TASKS = 12


def test_two_workflow_containers_send_one_reminder_per_task(runner_factory, container_factory,
                                                           make_config):
    clock = ManualClock(START)
    config = make_config("customer", "workflow", clock=clock, WORKFLOW_SWEEP_SECONDS="0.05")
    runner = runner_factory(config, CustomerService, WorkflowService)
    runner.start()
    container_factory(WorkflowService, config).start()  # the second sweeper
    made = {call(runner, "create_task", {"title": f"t{n}", "due_at": (START + 2 * HOUR).isoformat()})["id"]
            for n in range(TASKS)}
    clock.advance(3600 * 1.5)  # within the hour before: due soon
    wait_until(lambda: len(outbox(config, "task.due_soon")) >= TASKS, timeout=60, interval=0.2)
    clock.advance(3600)  # past due: overdue
    wait_until(lambda: len(outbox(config, "task.overdue")) >= TASKS, timeout=60, interval=0.2)
    eventlet.sleep(0.5)  # ten more sweeps by each container
    found = outbox(config, "task.due_soon", "task.overdue")
    assert Counter((kind, data["task"]["id"]) for kind, data in found) == {
        (kind, task_id): 1 for kind in ("task.due_soon", "task.overdue") for task_id in made}
    overdue = next(data for kind, data in found if kind == "task.overdue")
    assert overdue["notify"] == ["admin"] and overdue["escalated_to"] == ["admin"]


def test_overdue_reaches_the_creator_and_the_assignees_managers(services, clock):
    user(services, "lina", team="east")
    user(services, "boss", role="manager", team="east")
    user(services, "zhao", role="manager", team="west")
    user(services, "sam", role="support")
    task = call(services, "create_task", {"title": "t", "assignee": "lina",
                                          "due_at": (START + HOUR).isoformat()},
                who=as_user("boss", "manager"))
    call(services, "update_task", task["id"], {"title": "renamed"}, task["version"],
         who=as_user("boss", "manager"))
    clock.advance(7200)
    sweep(services)
    ((_, data),) = outbox(services.service_map["workflow"].config, "task.overdue")
    assert data["notify"] == ["lina", "boss"] and data["escalated_to"] == ["boss"]
