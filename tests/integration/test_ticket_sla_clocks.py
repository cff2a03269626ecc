"""SLA clocks in a real container: a moved clock drives warnings and breaches through the
outbox, holds and business calendars, and two sweepers on one database emit each alert once."""
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.clock import ManualClock
from services.common.db import make_engine
from services.common.errors import Conflict, ValidationFailed
from services.common.wakeups import SweepGate
from services.customer.service import CustomerService
from services.ticket.models import Outbox, SlaClock
from services.ticket.service import TicketService
from tests.integration.test_ticket_service import (  # noqa: F401 (fixtures)
    START, clock, customer, new_ticket, services,
)
from tests.support.customers import customer_payload
from tests.support.services import call
from tests.support.waiting import wait_until

SHANGHAI_WEEK = {"timezone": "Asia/Shanghai", "holidays": ["2026-11-09"],
                 "hours": {day: ["09:00", "18:30"] for day in ("mon", "tue", "wed", "thu", "fri")}}


@contextmanager
def ticket_database(runner):
    """A session on the ticket service's database, as the test sees it from outside."""
    settings = runner.service_map["tickets"].config["DESKFLOW_SETTINGS"]
    engine = make_engine(settings.database_url("ticket"))
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def emitted(runner, *event_types) -> list[dict]:
    """The envelopes of ``event_types`` in the ticket service's outbox, oldest first."""
    with ticket_database(runner) as session:
        return [row.envelope for row in session.scalars(
            select(Outbox).where(Outbox.event_type.in_(event_types)).order_by(Outbox.created_at))]


def due_clocks(runner, now) -> int:
    """Clock cycles a sweeper could still act on at ``now``."""
    with ticket_database(runner) as session:
        return session.scalar(select(func.count()).select_from(SlaClock)
                              .where(SlaClock.next_check_at <= now))


def alerts(runner) -> list[tuple[str, str, str]]:
    """(type, ticket id, clock) of every SLA alert in the ticket service's outbox."""
    return [(envelope["type"], envelope["data"]["ticket"]["id"], envelope["data"]["clock"])
            for envelope in emitted(runner, "ticket.sla_warning", "ticket.sla_breached")]


def sweep(runner):
    call(runner, "tickets.sweep_sla_clocks")


def test_a_sweeper_queries_again_once_something_is_due_or_changed(services, customer, clock):
    container = services.service_map["tickets"]
    gate = next(dependency.gate for dependency in container.dependencies
                if isinstance(dependency, SweepGate))
    ticket = new_ticket(services, customer, category="complaint")
    assert gate.due(clock.now())  # a clock was written here
    sweep(services)
    assert gate.next_due == START + timedelta(seconds=480)  # the first-response warning
    clock.advance(479)
    assert not gate.due(clock.now())
    clock.advance(1)
    assert gate.due(clock.now())
    sweep(services)
    assert alerts(services) == [("ticket.sla_warning", ticket["id"], "first_response")]
    call(services, "tickets.comment", ticket["id"], {"body": "On it", "public": True})
    assert gate.due(clock.now())


def test_warning_then_breach_with_a_moved_clock(services, customer, clock):
    ticket = new_ticket(services, customer, category="complaint")
    clock.advance(479)
    sweep(services)
    assert alerts(services) == []
    clock.advance(1)
    sweep(services)
    sweep(services)
    assert alerts(services) == [("ticket.sla_warning", ticket["id"], "first_response")]
    shown = call(services, "tickets.get", ticket["id"])
    assert shown["sla"]["first_response"]["status"] == "warning" and not shown["escalated"]
    clock.advance(120)
    sweep(services)
    shown = call(services, "tickets.get", ticket["id"])
    assert shown["sla"]["first_response"]["status"] == "breached" and shown["escalated"]
    assert Counter(kind for kind, _, _ in alerts(services)) == {
        "ticket.sla_warning": 1, "ticket.sla_breached": 1}
    listed = call(services, "tickets.list", {"breached": "true"})
    assert [item["id"] for item in listed["items"]] == [ticket["id"]]
    assert call(services, "tickets.list", {"breached": "false"})["total"] == 0
    figures = call(services, "tickets.metrics")
    assert figures["sla_breaches"]["first_response"] == 1
    assert figures["tickets_by_state"]["pending"] == 1


def test_answering_in_time_meets_the_clock_and_is_measured(services, customer, clock):
    ticket = new_ticket(services, customer, category="complaint")
    clock.advance(200)
    call(services, "tickets.comment", ticket["id"], {"body": "On it", "public": False})
    assert call(services, "tickets.get", ticket["id"])["sla"]["first_response"]["status"] == "running"
    shown = call(services, "tickets.comment", ticket["id"], {"body": "We are on it"})
    shown = call(services, "tickets.get", ticket["id"])
    assert shown["sla"]["first_response"]["status"] == "met"
    assert shown["sla"]["update"]["cycle"] == 2  # the public comment was a progress update
    clock.advance(5000)  # short of the resolution warning (80 % of 2 h)
    sweep(services)
    assert alerts(services) == []
    histogram = call(services, "tickets.metrics")["first_response_seconds"]
    assert histogram["count"] == 1 and histogram["sum"] == 200
    assert dict(map(tuple, histogram["buckets"]))[300] == 1


def test_a_held_ticket_never_breaches_for_the_time_it_waited(services, customer, clock):
    ticket = new_ticket(services, customer, priority="high")  # resolution target: 2 h
    call(services, "tickets.transition", ticket["id"], {"to": "in_progress"})
    clock.advance(1000)
    call(services, "tickets.hold", ticket["id"], {"reason": "waiting for the customer"})
    clock.advance(30 * 3600)
    sweep(services)
    held = call(services, "tickets.get", ticket["id"])
    assert held["sla"]["resolution"]["status"] == "paused" and held["on_hold"]
    assert alerts(services) == []
    resumed = call(services, "tickets.resume", ticket["id"])
    assert resumed["sla"]["resolution"]["remaining_seconds"] == 7200 - 1000
    clock.advance(7200 * 0.8 - 1000 - 1)
    sweep(services)
    assert alerts(services) == []
    clock.advance(1)
    sweep(services)
    assert alerts(services) == [("ticket.sla_warning", ticket["id"], "resolution")]
    kinds = [entry["kind"] for entry in call(services, "tickets.history", ticket["id"])]
    assert kinds == ["transition", "transition", "hold", "resume"]


def test_a_late_first_response_is_a_breach_even_before_any_sweep(services, customer, clock):
    ticket = new_ticket(services, customer, category="complaint")  # first response: 10 min
    clock.advance(700)  # past the deadline; the sweep has not run
    call(services, "tickets.comment", ticket["id"], {"body": "Sorry for the wait"})
    shown = call(services, "tickets.get", ticket["id"])
    assert shown["sla"]["first_response"]["status"] == "breached" and shown["escalated"]
    assert alerts(services) == [("ticket.sla_warning", ticket["id"], "first_response"),
                                ("ticket.sla_breached", ticket["id"], "first_response")]
    (stopped,) = [envelope["data"] for envelope in emitted(services, "ticket.sla_stopped")
                  if envelope["data"]["clock"] == "first_response"]
    assert stopped["met"] is False and stopped["elapsed_seconds"] == 700
    assert call(services, "tickets.metrics")["sla_breaches"]["first_response"] == 1
    sweep(services)
    assert len(alerts(services)) == 2  # owed once, already paid


def test_a_hold_after_the_deadline_keeps_the_breach(services, customer, clock):
    ticket = new_ticket(services, customer, priority="high")  # resolution: 2 h
    call(services, "tickets.transition", ticket["id"], {"to": "in_progress"})
    clock.advance(7300)
    held = call(services, "tickets.hold", ticket["id"], {"reason": "waiting for logs"})
    assert held["sla"]["resolution"]["status"] == "breached" and held["escalated"]
    assert ("ticket.sla_breached", ticket["id"], "resolution") in alerts(services)
    clock.advance(3600)
    call(services, "tickets.resume", ticket["id"])
    done = call(services, "tickets.transition", ticket["id"],
                {"to": "done", "solution": "Late", "resolution": "resolved"})
    assert done["sla"]["resolution"]["status"] == "breached"


def test_moving_a_held_ticket_ends_the_hold_and_credits_it(services, customer, clock):
    ticket = new_ticket(services, customer, priority="high")  # resolution: 2 h
    call(services, "tickets.transition", ticket["id"], {"to": "in_progress"})
    clock.advance(1000)
    call(services, "tickets.hold", ticket["id"], {"reason": "waiting for the customer"})
    clock.advance(5000)
    done = call(services, "tickets.transition", ticket["id"],
                {"to": "done", "solution": "Customer confirmed", "resolution": "resolved"})
    assert not done["on_hold"] and done["state"] == "done"
    assert done["sla"]["resolution"]["status"] == "met"
    assert done["sla"]["resolution"]["elapsed_seconds"] == 1000  # the 5000 s held are credited
    (resumed,) = [envelope["data"] for envelope in emitted(services, "ticket.resumed")]
    assert resumed["held_seconds"] == 5000 and resumed["ticket"]["id"] == ticket["id"]
    history = call(services, "tickets.history", ticket["id"])
    (resume,) = [entry for entry in history if entry["kind"] == "resume"]
    assert resume["details"]["held_seconds"] == 5000 and resume["at"] == history[-1]["at"]
    with pytest.raises(Conflict):
        call(services, "tickets.resume", ticket["id"])  # the hold is over


def test_patch_reassigns_with_an_event_keeps_running_targets_and_ignores_no_change(
        services, customer, clock):
    policy = call(services, "tickets.sla_policy")
    call(services, "tickets.set_sla_policy", {  # per-priority targets, as a policy may set
        **policy, "resolution": {"default": 7200, "high": 3600, "low": 259200}})
    ticket = new_ticket(services, customer, priority="low")
    clock.advance(60)
    changed = call(services, "tickets.update", ticket["id"],
                   {"owner": "bob", "priority": "high", "title": "Printer on fire"})
    assert (changed["owner"], changed["priority"], changed["title"]) == (
        "bob", "high", "Printer on fire")
    assert changed["sla"]["resolution"]["target_seconds"] == 259200  # still the low target
    assert changed["updated_at"] != ticket["updated_at"]
    (updated,) = [envelope["data"] for envelope in emitted(services, "ticket.updated")]
    changes = {change["field"]: (change["before"], change["after"]) for change in updated["changes"]}
    assert changes == {
        "owner": ("alice", "bob"), "priority": ("low", "high"),
        "title": ("Printer jams", "Printer on fire")}
    (assigned,) = [envelope["data"] for envelope in emitted(services, "ticket.assigned")]
    assert assigned["previous_owner"] == "alice" and assigned["ticket"]["owner"] == "bob"

    clock.advance(60)
    same = call(services, "tickets.update", ticket["id"],
                {"owner": "bob", "title": "Printer on fire"})
    assert same == {**changed, "sla": same["sla"]} and same["updated_at"] == changed["updated_at"]
    assert len(emitted(services, "ticket.updated", "ticket.assigned")) == 2  # nothing new
    with pytest.raises(ValidationFailed):
        call(services, "tickets.update", ticket["id"], {"state": "closed"})


def test_a_calendar_policy_counts_working_time_only(services, customer, clock):
    policy = {**call(services, "tickets.sla_policy"), "calendar": SHANGHAI_WEEK}
    call(services, "tickets.set_sla_policy", policy)
    clock.set(datetime.fromisoformat("2026-11-06T17:30:00+08:00"))  # Friday evening
    ticket = new_ticket(services, customer, category="need")  # both targets 2 h
    resolution = ticket["sla"]["resolution"]
    assert datetime.fromisoformat(resolution["due_at"]) == datetime.fromisoformat(
        "2026-11-10T10:00:00+08:00")  # the weekend and Monday's holiday do not count
    clock.set(datetime.fromisoformat("2026-11-09T23:00:00+08:00"))  # 77.5 h later, 1 h worked
    sweep(services)
    assert call(services, "tickets.get", ticket["id"])["sla"]["resolution"]["status"] == "running"
    assert alerts(services) == []
    clock.set(datetime.fromisoformat("2026-11-10T09:36:00+08:00"))  # 96 minutes worked: 80 %
    sweep(services)
    assert sorted(alerts(services)) == [("ticket.sla_warning", ticket["id"], "first_response"),
                                        ("ticket.sla_warning", ticket["id"], "resolution")]


def test_a_policy_change_applies_to_tickets_created_afterwards(services, customer):
    before = new_ticket(services, customer, category="complaint")
    policy = call(services, "tickets.sla_policy")
    policy["first_response"]["complaint"] = 60
    assert call(services, "tickets.set_sla_policy", policy)["first_response"]["complaint"] == 60
    after = new_ticket(services, customer, category="complaint")
    assert before["sla"]["first_response"]["target_seconds"] == 600
    assert after["sla"]["first_response"]["target_seconds"] == 60
    still = call(services, "tickets.get", before["id"])
    assert still["sla"]["first_response"]["target_seconds"] == 600


def test_ticket_activity_counts_for_the_customer_status(services, customer, clock):
    clock.advance(120 * 86400)
    assert call(services, "customers.get", customer["id"])["status"] == "dormant"
    new_ticket(services, customer)
    wait_until(lambda: call(services, "customers.get", customer["id"])["status"] == "active",
               timeout=20, message="the ticket counts as activity")


TICKETS = 100


def test_two_sweepers_emit_each_alert_once(runner_factory, container_factory, make_config):
    """Two ticket containers on one database and vhost, sweeping every 50 ms, race for the
    same due clocks: each warning and breach leaves the outbox exactly once."""
    clock = ManualClock(START)
    config = make_config("customer", "ticket", clock=clock, SLA_SWEEP_SECONDS="0.05")
    runner = runner_factory(config, CustomerService, TicketService)
    runner.start()
    container_factory(TicketService, config).start()  # the second sweeper

    customer = call(runner, "customers.create", customer_payload(
        name="Racing Ltd", industry="MFG"))
    tickets = {new_ticket(runner, customer, category="complaint")["id"] for _ in range(TICKETS)}
    clock.advance(700)  # every first-response clock owes its warning and its breach
    wait_until(lambda: len(alerts(runner)) >= 2 * TICKETS, timeout=120, interval=0.2,
               message=f"{2 * TICKETS} alerts")
    # Each alert moves its clock's next_check_at in the transaction that writes it: once no
    # clock is due, no sweeper can write another one.
    wait_until(lambda: due_clocks(runner, clock.now()) == 0, timeout=60, message="nothing due")
    found = alerts(runner)
    assert len(found) == 2 * TICKETS
    assert Counter(found) == {(kind, ticket_id, "first_response"): 1 for ticket_id in tickets
                              for kind in ("ticket.sla_warning", "ticket.sla_breached")}
