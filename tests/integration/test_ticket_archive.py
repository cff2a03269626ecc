"""The archive with a moved clock: closed tickets untouched for ARCHIVE_AFTER_MONTHS move
out of the working tables once a month; reads still find them, lists show them only when
asked, nothing can change them, and neither the reports nor /metrics move."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.common.errors import Archived
from services.customer.service import CustomerService
from services.reporting.service import ReportingService
from services.ticket.models import Outbox, Ticket
from services.ticket.service import TicketService
from tests.integration.test_ticket_service import (  # noqa: F401 (fixtures)
    START, clock, new_ticket,
)
from tests.support.customers import customer_payload
from tests.support.services import call
from tests.support.waiting import wait_until

RANGE = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def services(runner_factory, make_config, clock):
    config = make_config("customer", "ticket", "reporting", clock=clock,
                         SLA_SWEEP_SECONDS="3600", MAINTENANCE_CHECK_SECONDS="3600")
    runner = runner_factory(config, CustomerService, TicketService, ReportingService)
    runner.start()
    return runner


def ticket_rows(runner) -> tuple[int, int]:
    """(working tickets, outbox rows written after ``START``'s year) in the ticket database."""
    settings = runner.service_map["tickets"].config["DESKFLOW_SETTINGS"]
    engine = make_engine(settings.database_url("ticket"))
    try:
        with Session(engine) as session:
            return (session.scalar(select(func.count()).select_from(Ticket)),
                    session.scalar(select(func.count()).select_from(Outbox).where(
                        Outbox.created_at >= datetime(2027, 1, 1, tzinfo=timezone.utc))))
    finally:
        engine.dispose()


def close(runner, ticket_id):
    for body in ({"to": "in_progress"}, {"to": "done", "solution": "Fixed", "resolution": "resolved"},
                 {"to": "closed", "close_reason": "customer_unreachable"}):
        call(runner, "tickets.transition", ticket_id, body)


def closed_in_reports(runner) -> int:
    return call(runner, "reporting.summary", RANGE)["tickets"]["by_state"]["closed"]


def archive(runner):
    call(runner, "tickets.archive_closed_tickets")


def listed(runner, **query) -> list[str]:
    return [item["id"] for item in call(runner, "tickets.list", query)["items"]]


def test_closed_tickets_move_to_the_archive_once_a_month_and_nothing_else_moves(services,
                                                                                clock):
    customer = call(services, "customers.create", customer_payload(name="Archived Ltd",
                                                                      owner="alice"))
    # with a contact email: customer notices and a survey move (and go) with it
    old = new_ticket(services, customer, title="Long ago", contact_email="old@example.com")["id"]
    call(services, "tickets.comment", old, {"body": "On it", "public": True})
    close(services, old)
    call(services, "tickets.rate", old, {"score": 5, "nps_score": 9})
    still_open = new_ticket(services, customer, title="Still open")["id"]
    clock.advance(2 * 86400)
    recent = new_ticket(services, customer, title="Closed later")["id"]
    close(services, recent)
    wait_until(lambda: closed_in_reports(services) == 2, timeout=30)
    shown = call(services, "tickets.get", old)
    history = call(services, "tickets.history", old)

    clock.set(datetime(2027, 11, 3, 12, 0, tzinfo=timezone.utc))  # old: a year and a day
    summary = call(services, "reporting.summary", RANGE)
    figures = call(services, "tickets.metrics")
    archive(services)

    assert call(services, "tickets.get", old) == {**shown, "archived": True}
    assert call(services, "tickets.history", old) == history
    assert listed(services) == [recent, still_open]
    assert listed(services, archived="true") == [recent, still_open, old]
    assert listed(services, archived="true", state="closed", owner="alice") == [recent, old]
    assert call(services, "tickets.list", {"archived": "true", "per_page": 1,
                                              "page": 3})["items"][0]["id"] == old
    for change in (("tickets.transition", old, {"to": "in_progress"}),
                   ("tickets.rate", old, {"score": 1}),
                   ("tickets.comment", old, {"body": "Hello?", "public": True}),
                   ("tickets.update", old, {"title": "Renamed"})):
        with pytest.raises(Archived):
            call(services, *change)
    assert ticket_rows(services) == (2, 0)  # the move emitted nothing
    assert call(services, "tickets.metrics") == figures
    assert call(services, "reporting.summary", RANGE) == summary

    clock.advance(3 * 86400)  # recent is old enough now, but this month's run is done
    archive(services)
    assert listed(services) == [recent, still_open]
    clock.set(datetime(2027, 12, 1, 0, 30, tzinfo=timezone.utc))
    archive(services)
    assert listed(services) == [still_open]
    assert call(services, "tickets.get", recent)["archived"] is True
    assert call(services, "tickets.get", still_open)["archived"] is False
    later = call(services, "tickets.metrics")  # only the open ticket has aged, as time went on
    assert later["oldest_open_age_seconds"] > figures["oldest_open_age_seconds"]
    ageing = ("open_older_than", "oldest_open_age_seconds")
    assert ({key: value for key, value in later.items() if key not in ageing}
            == {key: value for key, value in figures.items() if key not in ageing})


def test_the_feedback_form_filters_apply_to_archived_tickets(services, clock):
    call(services, "tickets.set_departments", {"departments": ["售后服务部", "技术部"]})
    customer = call(services, "customers.create", customer_payload(name="Filtered Ltd",
                                                                      owner="alice"))
    resolved = new_ticket(services, customer, channel="phone", department="售后服务部")["id"]
    close(services, resolved)
    clock.advance(60)
    unresolvable = new_ticket(services, customer, channel="email", department="技术部")["id"]
    for body in ({"to": "in_progress"}, {"to": "done", "solution": "Cannot reproduce",
                                         "resolution": "unresolvable"},
                 {"to": "closed", "close_reason": "customer_unreachable"}):
        call(services, "tickets.transition", unresolvable, body)
    clock.advance(60)
    late = new_ticket(services, customer, channel="phone", received_at=datetime(
        2026, 11, 1, 3, 0, tzinfo=timezone.utc).isoformat())["id"]  # 30 h before entry
    close(services, late)
    clock.advance(60)
    working = new_ticket(services, customer, channel="phone", department="售后服务部")["id"]

    clock.set(datetime(2027, 11, 3, 12, 0, tzinfo=timezone.utc))
    archive(services)
    assert listed(services) == [working]

    def both(**query):
        return listed(services, archived="true", **query)

    assert both(channel="phone") == [working, late, resolved]
    assert both(channel="email") == [unresolvable]
    assert both(department="售后服务部") == [working, resolved]
    assert both(late_entry="true") == [late]
    assert both(late_entry="false") == [working, unresolvable, resolved]
    assert both(status_label="closed") == [late, resolved]
    assert both(status_label="unresolvable") == [unresolvable]
    assert both(status_label="pending") == [working]
    assert both(status_label="closed", channel="phone", late_entry="false") == [resolved]
    assert listed(services, channel="phone") == [working]  # archived ones only when asked
