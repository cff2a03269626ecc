"""The feedback form on tickets in a real container (real customer service, PostgreSQL, a
moved clock): its fields and status label, late entries, the seeds' default targets, the
customer notices, surveys and closing rules."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.common.errors import (
    Conflict, Gone, NotFound, TooManyRequests, ValidationFailed,
)
from services.ticket.models import Outbox
from tests.integration.test_ticket_service import (  # noqa: F401 (fixtures)
    START, call, clock, customer, new_ticket, services,
)
from tests.integration.test_ticket_sla_clocks import alerts, sweep

ADDRESS = "198.51.100.7"


def outbox(runner, *event_types) -> list[dict]:
    """The data of the ticket service's events of ``event_types`` (none: all), oldest first."""
    settings = runner.service_map["tickets"].config["DESKFLOW_SETTINGS"]
    engine = make_engine(settings.database_url("ticket"))
    statement = select(Outbox).order_by(Outbox.id)
    if event_types:
        statement = statement.where(Outbox.event_type.in_(event_types))
    try:
        with Session(engine) as session:
            rows = session.scalars(statement).all()
            return [row.envelope["data"] for row in rows]
    finally:
        engine.dispose()


def finish(services, ticket_id, resolution="resolved"):
    call(services, "tickets.transition", ticket_id, {"to": "in_progress"})
    return call(services, "tickets.transition", ticket_id, {
        "to": "done", "solution": "Replaced the roller", "resolution": resolution})


def survey_id(services, ticket_id) -> int:
    """The survey the outcome notice of ``ticket_id`` names."""
    [notice] = [data["notice"] for data in outbox(services, "ticket.customer_notified")
                if data["ticket"]["id"] == ticket_id and data["notice"]["kind"] == "outcome"]
    return notice["params"]["survey_id"]


def survey_token(services, ticket_id) -> str:
    """The token of a survey link issued as the notification service issues it."""
    link = call(services, "tickets.survey_link", survey_id(services, ticket_id))["url"]
    return link.rsplit("/", 1)[1]


def test_the_forms_fields_are_kept_shown_and_editable(services, customer, clock):
    call(services, "tickets.set_departments", {"departments": ["售后服务部", "技术部"]})
    ticket = new_ticket(
        services, customer, channel="phone", contact_name="Wang Wei", contact_title="IT lead",
        contact_phone="+86 138 0000 1111", contact_email="wang@example.com",
        order_ref="PO-2026-118", department="技术部", planned_completion_date="2026-11-05",
        received_at=(START - timedelta(hours=2)).isoformat(), category="other")
    assert {key: ticket[key] for key in ("channel", "contact_name", "order_ref", "department",
                                         "planned_completion_date", "late_entry",
                                         "notify_customer", "language", "status_label")} == {
        "channel": "phone", "contact_name": "Wang Wei", "order_ref": "PO-2026-118",
        "department": "技术部", "planned_completion_date": "2026-11-05", "late_entry": False,
        "notify_customer": True, "language": "zh", "status_label": "pending"}
    updated = call(services, "tickets.update", ticket["id"], {
        "department": "售后服务部", "planned_completion_date": "2026-11-06"})
    assert updated["department"] == "售后服务部"
    change = outbox(services, "ticket.updated")[-1]["changes"]
    assert {"field": "planned_completion_date", "before": "2026-11-05",
            "after": "2026-11-06"} in change
    with pytest.raises(ValidationFailed) as unknown:
        call(services, "tickets.update", ticket["id"], {"department": "Marketing"})
    assert set(unknown.value.details["fields"]) == {"department"}


@pytest.mark.parametrize("fields, bad", [
    ({"channel": "fax"}, {"channel"}),
    ({"contact_email": "not-an-email", "contact_phone": "call me"},
     {"contact_email", "contact_phone"}),
    ({"received_at": (START + timedelta(hours=1)).isoformat()}, {"received_at"}),
    ({"received_at": (START - timedelta(days=91)).isoformat()}, {"received_at"}),
    ({"department": "Nowhere"}, {"department"}),
    ({"planned_completion_date": "soon"}, {"planned_completion_date"}),
    ({"category": "gossip"}, {"category"}),
])
def test_each_bad_field_is_422_naming_it(services, customer, fields, bad):
    with pytest.raises(ValidationFailed) as refused:
        new_ticket(services, customer, **fields)
    assert set(refused.value.details["fields"]) == bad


def test_notify_customer_needs_an_address(services, customer):
    silent = new_ticket(services, customer)  # the customer has no email
    assert silent["notify_customer"] is False
    with pytest.raises(ValidationFailed) as refused:
        new_ticket(services, customer, notify_customer=True)
    assert set(refused.value.details["fields"]) == {"notify_customer"}
    assert outbox(services, "ticket.customer_notified") == []


def test_status_label_across_a_hold_and_an_unresolvable_close(services, customer):
    ticket = new_ticket(services, customer)
    call(services, "tickets.transition", ticket["id"], {"to": "in_progress"})
    held = call(services, "tickets.hold", ticket["id"], {"reason": "waiting for logs"})
    assert (held["state"], held["status_label"]) == ("in_progress", "awaiting_customer")
    listed = call(services, "tickets.list", {"status_label": "awaiting_customer"})
    assert [item["id"] for item in listed["items"]] == [ticket["id"]]
    assert call(services, "tickets.list", {"status_label": "in_progress"})["total"] == 0
    call(services, "tickets.resume", ticket["id"])
    done = call(services, "tickets.transition", ticket["id"], {
        "to": "done", "solution": "Hardware fault at the customer", "resolution": "unresolvable"})
    assert done["status_label"] == "unresolvable" and done["completed_at"] is not None
    closed = call(services, "tickets.transition", ticket["id"],
                  {"to": "closed", "close_reason": "customer_declined"})
    assert (closed["state"], closed["status_label"]) == ("closed", "unresolvable")
    assert call(services, "tickets.list", {"status_label": "unresolvable"})["total"] == 1
    assert call(services, "tickets.list", {"status_label": "closed"})["total"] == 0


def test_reopening_clears_completed_at(services, customer):
    ticket = new_ticket(services, customer)
    assert finish(services, ticket["id"])["completed_at"] is not None
    reopened = call(services, "tickets.transition", ticket["id"], {"to": "in_progress"})
    assert reopened["completed_at"] is None


def test_a_late_entrys_first_response_clock_starts_when_it_was_received(services, customer,
                                                                        clock):
    received = START - timedelta(hours=30)
    ticket = new_ticket(services, customer, category="need", received_at=received.isoformat())
    assert ticket["late_entry"] is True
    first = ticket["sla"]["first_response"]
    assert first["started_at"] == received.isoformat()
    assert first["status"] == "breached" and first["remaining_seconds"] == 7200 - 30 * 3600
    assert ticket["sla"]["resolution"]["started_at"] == START.isoformat()
    sweep(services)
    assert ("ticket.sla_breached", ticket["id"], "first_response") in alerts(services)
    on_time = new_ticket(services, customer, received_at=(START - timedelta(hours=23)).isoformat())
    assert on_time["late_entry"] is False
    assert call(services, "tickets.list", {"late_entry": "true"})["total"] == 1


def test_the_seeds_default_targets_with_a_moved_clock(services, customer, clock):
    inquiry = new_ticket(services, customer, category="inquiry")
    need = new_ticket(services, customer, category="need")
    hard = new_ticket(services, customer, category="need", complex=True)
    assert [t["sla"]["first_response"]["target_seconds"] for t in (inquiry, need, hard)] == [
        600, 7200, 7200]
    assert [t["sla"]["resolution"]["target_seconds"] for t in (inquiry, need, hard)] == [
        7200, 7200, 86400]
    assert inquiry["sla"]["update"]["target_seconds"] == 48 * 3600
    clock.advance(600)
    sweep(services)
    assert ("ticket.sla_breached", inquiry["id"], "first_response") in alerts(services)
    assert not any(ticket_id == need["id"] for _, ticket_id, _ in alerts(services))
    clock.advance(7200 - 600)
    sweep(services)
    breached = {(ticket_id, name) for kind, ticket_id, name in alerts(services)
                if kind == "ticket.sla_breached"}
    assert (need["id"], "resolution") in breached and (hard["id"], "resolution") not in breached
    clock.advance(86400 - 7200)
    sweep(services)
    assert ("ticket.sla_breached", hard["id"], "resolution") in alerts(services)


def test_existing_tickets_keep_the_policy_they_were_created_with(services, customer):
    before = new_ticket(services, customer, category="need")
    policy = call(services, "tickets.sla_policy")
    call(services, "tickets.set_sla_policy", {
        **policy, "resolution": {"default": 3600, "high": 1800}})
    after = new_ticket(services, customer, category="need", priority="high")
    assert before["sla"]["resolution"]["target_seconds"] == 7200
    assert after["sla"]["resolution"]["target_seconds"] == 1800
    assert call(services, "tickets.get", before["id"])["sla"]["resolution"][
        "target_seconds"] == 7200


def test_customer_notices_go_to_the_contact_once_each_and_show_in_history(services, customer,
                                                                          clock):
    ticket = new_ticket(services, customer, contact_email="wang@example.com",
                        planned_completion_date=START.date().isoformat())
    call(services, "tickets.transition", ticket["id"], {"to": "in_progress"})
    call(services, "tickets.comment", ticket["id"], {"body": "The spare part is on its way"})
    call(services, "tickets.comment", ticket["id"], {"body": "internal", "public": False})
    clock.advance(24 * 3600)
    sweep(services)
    sweep(services)
    finish_call = call(services, "tickets.transition", ticket["id"], {
        "to": "done", "solution": "Replaced the roller", "resolution": "resolved"})
    assert finish_call["state"] == "done"
    notices = {data["notice"]["kind"]: data["notice"]
               for data in outbox(services, "ticket.customer_notified")}
    assert len(outbox(services, "ticket.customer_notified")) == 3
    assert set(notices) == {"acknowledgement", "delay", "outcome"}
    assert {n["to"] for n in notices.values()} == {"wang@example.com"}
    assert {n["language"] for n in notices.values()} == {"zh"}
    assert notices["delay"]["params"]["reason"] == "The spare part is on its way"
    assert notices["outcome"]["params"]["solution"] == "Replaced the roller"
    assert len(survey_token(services, ticket["id"])) >= 43  # 256 random bits, URL-safe
    history = call(services, "tickets.history", ticket["id"])
    assert sorted(e["details"]["notice"] for e in history if e["kind"] == "customer_notice") == [
        "acknowledgement", "delay", "outcome"]


def test_the_survey_token_never_travels_in_an_event_and_a_new_link_replaces_the_old(
        services, customer):
    ticket = new_ticket(services, customer, contact_email="wang@example.com")
    finish(services, ticket["id"])
    first = survey_token(services, ticket["id"])
    second = survey_token(services, ticket["id"])
    assert first != second
    for data in outbox(services):
        assert first not in json.dumps(data) and second not in json.dumps(data)
    with pytest.raises(NotFound):
        call(services, "tickets.survey", first, ADDRESS)  # replaced by the second link
    assert call(services, "tickets.survey", second, ADDRESS)["ticket_id"] == ticket["id"]
    call(services, "tickets.answer_survey", second, {"overall": "satisfied"}, ADDRESS)
    with pytest.raises(Conflict):  # answered: no more links
        call(services, "tickets.survey_link", survey_id(services, ticket["id"]))
    with pytest.raises(NotFound):
        call(services, "tickets.survey_link", 999999)


def test_the_survey_once_then_409_expired_410_unknown_404(services, customer, clock):
    ticket = new_ticket(services, customer, contact_email="wang@example.com")
    finish(services, ticket["id"])
    token = survey_token(services, ticket["id"])
    shown = call(services, "tickets.survey", token, ADDRESS)
    assert shown["ticket_id"] == ticket["id"] and shown["title"] == ticket["title"]
    assert [q["name"] for q in shown["questions"]][:4] == ["overall", "quality", "speed",
                                                           "effectiveness"]
    with pytest.raises(ValidationFailed) as bad:
        call(services, "tickets.answer_survey", token, {"overall": "meh", "speed": 9}, ADDRESS)
    assert set(bad.value.details["fields"]) == {"overall", "speed"}
    answers = {"overall": "satisfied", "quality": 5, "speed": 4, "effectiveness": 4,
               "nps_score": 9, "would_cooperate_again": "yes", "comment": "Quick, thanks"}
    rating = call(services, "tickets.answer_survey", token, answers, ADDRESS)
    assert (rating["score"], rating["collected_via"], rating["quality"]) == (4, "survey", 5)
    with pytest.raises(Conflict):
        call(services, "tickets.answer_survey", token, answers, ADDRESS)
    rated = outbox(services, "ticket.rated")[-1]["rating"]
    assert {key: rated[key] for key in ("score", "quality", "speed", "effectiveness", "nps_score",
                                        "would_cooperate_again", "comment")} == {
        "score": 4, "quality": 5, "speed": 4, "effectiveness": 4, "nps_score": 9,
        "would_cooperate_again": "yes", "comment": "Quick, thanks"}
    with pytest.raises(Conflict):  # at most one rating, however it comes
        call(services, "tickets.rate", ticket["id"], {"score": 5})
    with pytest.raises(NotFound):
        call(services, "tickets.survey", "no-such-token", ADDRESS)

    late = new_ticket(services, customer, contact_email="wang@example.com")
    finish(services, late["id"])
    stale = survey_token(services, late["id"])
    clock.advance(14 * 86400 + 1)
    with pytest.raises(Gone):
        call(services, "tickets.survey", stale, ADDRESS)
    with pytest.raises(Gone):
        call(services, "tickets.survey_link", survey_id(services, late["id"]))


def test_survey_requests_are_rate_limited_per_address(runner_factory, make_config, clock):
    from services.customer.service import CustomerService
    from services.ticket.service import TicketService
    config = make_config("customer", "ticket", clock=clock, SLA_SWEEP_SECONDS="3600",
                         SURVEY_RATE_LIMIT="3")
    runner = runner_factory(config, CustomerService, TicketService)
    runner.start()
    for _ in range(3):
        with pytest.raises(NotFound):
            call(runner, "tickets.survey", "guess", ADDRESS)
    with pytest.raises(TooManyRequests):
        call(runner, "tickets.survey", "guess", ADDRESS)
    with pytest.raises(NotFound):  # another address is not held back
        call(runner, "tickets.survey", "guess", "203.0.113.9")
    clock.advance(601)
    with pytest.raises(NotFound):
        call(runner, "tickets.survey", "guess", ADDRESS)


def test_an_agent_records_a_phone_rating_and_a_low_score_is_dissatisfied(services, customer):
    ticket = new_ticket(services, customer)
    finish(services, ticket["id"])
    rating = call(services, "tickets.rate", ticket["id"], {
        "score": 1, "collected_via": "phone", "would_cooperate_again": "no"})
    assert rating["collected_via"] == "phone"
    dissatisfied = outbox(services, "ticket.dissatisfied")
    assert [d["ticket"]["id"] for d in dissatisfied] == [ticket["id"]]
    assert dissatisfied[0]["rating"]["score"] == 1
    closed = call(services, "tickets.transition", ticket["id"], {"to": "closed"})
    assert closed["state"] == "closed"  # rated, so no close_reason is needed
