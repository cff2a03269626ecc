"""Churn warning (高价值客户流失预警, issue 13) with a moved clock: the customer, notification
and workflow services in real containers on one throwaway vhost. A high- or mid-value
customer quiet for CHURN_WARNING_DAYS emits one customer.churn_risk per quiet spell; its
owner, the owner's managers and the admins each get one notice; a default rule opens a
win-back task (挽回) for the owner; the at-risk list is highest value first."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.clock import ManualClock
from services.common.db import make_engine
from services.common.events import make_envelope
from services.customer.models import Outbox
from services.customer.service import CustomerService
from services.notification.service import NotificationService
from services.workflow.service import WorkflowService
from tests.support.customers import customer_payload
from tests.support.services import call
from tests.support.waiting import wait_until

START = datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)
QUIET = timedelta(days=61)


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def services(runner_factory, make_config, clock):
    config = make_config("customer", "notification", "workflow", clock=clock,
                         CHURN_WARNING_DAYS="60", WORKFLOW_SWEEP_SECONDS="3600",
                         MAINTENANCE_CHECK_SECONDS="3600")
    runner = runner_factory(config, CustomerService, NotificationService, WorkflowService)
    runner.start()
    return runner


def learn_user(runner, username, role, team):
    """The user event the gateway emits, as the notification and workflow services take it."""
    envelope = make_envelope("user.created", {"user": {
        "username": username, "display_name": username, "role": role, "team": team,
        "active": True, "email": f"{username}@example.com"}}, "gateway", None, START)
    for service in ("notifications", "workflow"):
        call(runner, f"{service}.handle_event", [envelope])


def deal(amount: int, owner: str) -> dict:
    return customer_payload(type="deal", deal_amount=amount, deal_product="Cloud suite",
                            signed_date=START.date().isoformat(), owner=owner)


def warnings(runner, since: datetime) -> list[str]:
    """The customer ids of the customer.churn_risk events written from ``since`` on (the
    relay purges published rows a week after, by the same moved clock)."""
    settings = runner.service_map["customers"].config["DESKFLOW_SETTINGS"]
    engine = make_engine(settings.database_url("customer"))
    try:
        with Session(engine) as session:
            rows = session.scalars(select(Outbox).where(
                Outbox.event_type == "customer.churn_risk", Outbox.created_at >= since)
                .order_by(Outbox.created_at))
            return [row.envelope["data"]["customer"]["id"] for row in rows]
    finally:
        engine.dispose()


def notices(runner, username, customer_id) -> list[dict]:
    inbox = call(runner, "notifications.inbox", {"per_page": 200}, actor=username)["items"]
    return [entry for entry in inbox
            if entry["kind"] == "churn_risk" and customer_id in entry["title"]]


def winback_tasks(runner, customer_id) -> list[dict]:
    rule = next(rule for rule in call(runner, "workflow.list_rules")
                if rule["default_key"] == "churn_winback")
    listed = call(runner, "workflow.list_tasks", {"customer_id": customer_id, "per_page": 200})
    return [task for task in listed["items"] if task["source"] == f"rule:{rule['id']}"]


def test_a_quiet_valuable_customer_is_warned_once_per_spell(services, clock):
    east, west = f"east-{uuid.uuid4().hex[:4]}", f"west-{uuid.uuid4().hex[:4]}"
    people = {"lina": ("sales", east), "boss": ("manager", east), "root": ("admin", None),
              "other": ("manager", west)}
    for username, (role, team) in people.items():
        learn_user(services, username, role, team)
    high = call(services, "customers.create", deal(800000, "lina"))["id"]
    mid = call(services, "customers.create", deal(200000, "lina"))["id"]
    small = call(services, "customers.create", deal(50000, "lina"))["id"]
    clock.advance(10 * 86400)
    recent = call(services, "customers.create", deal(900000, "lina"))["id"]

    clock.set(START + QUIET)
    call(services, "customers.warn_churn_risk")
    assert sorted(warnings(services, START)) == sorted([high, mid])
    at_risk = call(services, "customers.churn_risk", {})
    assert [(row["customer_id"], row["value_tier"], row["quiet_days"])
            for row in at_risk["items"]] == [(high, "high", 61), (mid, "mid", 61)]
    assert small not in str(at_risk) and recent not in str(at_risk)

    # the owner, the owner's manager and each admin (ADMIN_USERNAME too) once; all of one
    # event's notices are written together
    (notice,) = wait_until(lambda: notices(services, "lina", high))
    assert "800000" in notice["body"] and "61" in notice["body"]
    for username in ("boss", "root", "admin"):
        assert len(notices(services, username, high)) == 1, username
    assert notices(services, "other", high) == []
    (task,) = wait_until(lambda: winback_tasks(services, high))
    assert (task["assignee"], task["priority"], task["state"]) == ("lina", "high", "open")

    call(services, "customers.warn_churn_risk")  # the next day's sweep: the same spell
    clock.advance(86400)
    call(services, "customers.warn_churn_risk")
    assert sorted(warnings(services, START)) == sorted([high, mid])

    # a follow-up ends the spell (and completes the win-back); a later quiet spell warns again
    call(services, "customers.log_followup", high, {
        "at": clock.now().isoformat(), "channel": "visit", "subject": "Win-back visit",
        "outcome": "positive"})
    wait_until(lambda: winback_tasks(services, high)[0]["state"] == "done")
    clock.advance(QUIET.total_seconds())
    later = clock.now()
    call(services, "customers.warn_churn_risk")
    assert sorted(warnings(services, later)) == sorted([high, recent])  # mid: the same spell
    wait_until(lambda: len(notices(services, "lina", high)) == 2)
    assert len(notices(services, "lina", mid)) == 1
