"""The tickets service in a real container, with the real customer service beside it, on a
throwaway RabbitMQ vhost and fresh PostgreSQL databases; time comes from a ManualClock."""
from datetime import datetime, timezone

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import select

from services.common.clock import ManualClock
from services.common.db import make_engine
from services.common.errors import Conflict, InvalidTransition, NotFound, Unavailable, ValidationFailed
from services.customer.service import CustomerService
from services.ticket.models import KnownCustomer
from services.ticket.service import TicketService
from tests.support.customers import customer_payload
from tests.support.services import call
from tests.support.waiting import wait_until

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def services(runner_factory, make_config, clock):
    """Both services; the sweep timer is slow, so tests sweep when they choose to."""
    config = make_config("customer", "ticket", clock=clock, SLA_SWEEP_SECONDS="3600")
    runner = runner_factory(config, CustomerService, TicketService)
    runner.start()
    return runner


@pytest.fixture
def customer(services):
    return call(services, "customers.create", customer_payload(
        name="Ticketed Ltd", industry="TECH", owner="alice"))


def new_ticket(services, customer, **fields):
    payload = {"customer_id": customer["id"], "service_type": "aftersales",
               "category": "inquiry", "priority": "medium", "title": "Printer jams", **fields}
    return call(services, "tickets.create", payload)


def test_ids_follow_the_customer_and_owner_defaults_to_its_owner(services, customer):
    first, second = new_ticket(services, customer), new_ticket(services, customer)
    assert first["id"] == f"{customer['id']}-001" and second["id"] == f"{customer['id']}-002"
    assert first["owner"] == "alice" and first["state"] == "pending"
    assert set(first["sla"]) == {"first_response", "resolution", "update"}
    assert first["sla"]["first_response"]["status"] == "running"
    assert first["sla"]["first_response"]["remaining_seconds"] == 600  # an inquiry is answered within 10 minutes


def test_ids_stay_unique_when_created_in_parallel(services, customer):
    payload = {"customer_id": customer["id"], "service_type": "presales", "category": "need",
               "title": "Parallel"}
    with ClusterRpcProxy(services.service_map["tickets"].config, timeout=30) as cluster:
        replies = [cluster.tickets.create.call_async(payload) for _ in range(30)]
        ids = [reply.result()["id"] for reply in replies]
    assert sorted(ids) == [f"{customer['id']}-{n:03d}" for n in range(1, 31)]


def test_unknown_or_deleted_customer_is_refused_naming_customer_id(services, customer):
    with pytest.raises(ValidationFailed) as missing:
        new_ticket(services, {"id": "2026-TECH-999"})
    assert "customer_id" in missing.value.details["fields"]
    call(services, "customers.delete", customer["id"])
    # The ticket service learns of the deletion from its event, a moment later.
    engine = make_engine(services.config["DESKFLOW_SETTINGS"].database_url("ticket"))
    with engine.connect() as connection:
        wait_until(lambda: connection.scalar(select(KnownCustomer.deleted).where(
            KnownCustomer.id == customer["id"])))
    engine.dispose()
    with pytest.raises(ValidationFailed) as deleted:
        new_ticket(services, customer)
    assert deleted.value.details == {"fields": {"customer_id": [f"No customer {customer['id']}."]}}


def test_work_reopen_close_and_rate(services, customer, clock):
    ticket = new_ticket(services, customer)
    with pytest.raises(InvalidTransition) as refused:
        call(services, "tickets.transition", ticket["id"], {"to": "done"})
    assert refused.value.details["allowed"] == ["in_progress"]
    clock.advance(300)
    started = call(services, "tickets.transition", ticket["id"], {"to": "in_progress"})
    assert started["sla"]["first_response"]["status"] == "met"
    with pytest.raises(ValidationFailed) as missing:
        call(services, "tickets.transition", ticket["id"], {"to": "done"})
    assert set(missing.value.details["fields"]) == {"solution", "resolution"}
    done = call(services, "tickets.transition", ticket["id"],
                {"to": "done", "solution": "Replaced the roller", "resolution": "resolved"})
    assert done["sla"]["resolution"]["status"] == "met"
    reopened = call(services, "tickets.transition", ticket["id"], {"to": "in_progress",
                                                                      "note": "still jams"})
    assert reopened["sla"]["resolution"]["cycle"] == 2
    assert call(services, "tickets.get", ticket["id"]) == reopened  # read as rows, same view
    with pytest.raises(Conflict):
        call(services, "tickets.rate", ticket["id"], {"score": 5})
    call(services, "tickets.transition", ticket["id"],
         {"to": "done", "solution": "New printer", "resolution": "resolved"})
    with pytest.raises(ValidationFailed) as unrated:  # 持续跟进直至客户确认满意
        call(services, "tickets.transition", ticket["id"], {"to": "closed"})
    assert set(unrated.value.details["fields"]) == {"close_reason"}
    closed = call(services, "tickets.transition", ticket["id"],
                  {"to": "closed", "close_reason": "customer_unreachable"})
    assert closed["close_reason"] == "customer_unreachable"
    with pytest.raises(InvalidTransition) as final:
        call(services, "tickets.transition", ticket["id"], {"to": "in_progress"})
    assert final.value.details["allowed"] == []
    rating = call(services, "tickets.rate", ticket["id"], {"score": 4, "nps_score": 9})
    assert rating["score"] == 4 and closed["state"] == "closed"
    assert call(services, "tickets.get", ticket["id"])["rating"] == rating
    with pytest.raises(Conflict):
        call(services, "tickets.rate", ticket["id"], {"score": 5})
    kinds = [entry["kind"] for entry in call(services, "tickets.history", ticket["id"])]
    assert kinds == ["transition"] * 6 + ["rating"]


def test_missing_ticket_is_404(services):
    with pytest.raises(NotFound):
        call(services, "tickets.get", "2026-TECH-001-404")


def test_silent_customer_service_is_503(runner_factory, make_config):
    config = make_config("ticket", RPC_TIMEOUT="1", SLA_SWEEP_SECONDS="3600")
    runner = runner_factory(config, TicketService)
    runner.start()
    with pytest.raises(Unavailable):
        call(runner, "tickets.create", {"customer_id": "2026-TECH-001", "title": "x",
                                           "service_type": "presales", "category": "need"})
