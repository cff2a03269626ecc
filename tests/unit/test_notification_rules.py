"""The notification rules and texts, without I/O."""
import hashlib
import hmac
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from string import Formatter

import pytest

from services.notification import domain, templates
from services.notification.domain import PendingEmail, plan_emails

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
TICKET = {"id": "2026-TECH-001-001", "title": "Printer jams", "owner": "amy",
          "customer_id": "2026-TECH-001", "priority": "high"}
CUSTOMER = {"id": "2026-TECH-001", "name": "Acme", "owner": "amy"}
TASK = {"id": 7, "title": "Call Acme", "assignee": "amy", "due_at": "2026-11-25T10:00:00+00:00",
        "customer_id": "2026-TECH-001"}
SLA = {"ticket": TICKET, "clock": "first_response", "due_at": "2026-11-25T10:00:00+00:00"}

LOGIN_ALERT = {"user": {"username": "amy", "role": "sales"}, "at": "2026-11-26T08:00:00+00:00",
               "address": "198.51.100.7", "network": "198.51.100.0/24",
               "user_agent": "Mozilla/5.0 Firefox/140.0"}

def test_the_contract_lists_exactly_the_documented_events_by_source():
    text = (ROOT / "docs/events.md").read_text()
    sections = re.findall(r"^## Source `(\w+)`.*?\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    documented = {source: set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", body, re.MULTILINE))
                  for source, body in sections}
    assert {source: set(types) for source, types in domain.CONTRACT.items()} == documented


@pytest.mark.parametrize("event_type, data, admins, expected", [
    ("ticket.created", {"ticket": TICKET}, ["root"], [("amy", "ticket_assigned")]),
    ("ticket.assigned", {"ticket": TICKET}, [], [("amy", "ticket_assigned")]),
    ("ticket.created", {"ticket": {**TICKET, "owner": None}}, [], []),
    ("ticket.sla_warning", SLA, ["root"], [("amy", "sla_warning")]),
    ("ticket.sla_breached", SLA, ["root", "amy", "root", "zed"],
     [("amy", "sla_breached"), ("root", "sla_breached"), ("zed", "sla_breached")]),
    ("ticket.transitioned", {"ticket": TICKET, "to": "done"}, [], [("amy", "rating_request")]),
    ("ticket.transitioned", {"ticket": TICKET, "to": "closed"}, [], []),
    ("customer.updated", {"customer": CUSTOMER, "contact_changed": True,
                          "changes": [{"field": "email", "before": None, "after": "a@b.cn"}]},
     [], [("amy", "contact_changed")]),
    ("customer.updated", {"customer": CUSTOMER, "contact_changed": False,
                          "changes": [{"field": "grade", "before": "A", "after": "B"}]}, [], []),
    ("customer.reviewed", {"customer": CUSTOMER, "review": {
        "decision": "rejected", "by": "boss", "author": "bo", "note": "check the budget"}},
     ["root"], [("bo", "review_rejected")]),
    ("customer.reviewed", {"customer": CUSTOMER, "review": {
        "decision": "approved", "by": "boss", "author": "bo", "note": None}}, ["root"], []),
    ("task.created", {"task": TASK}, ["root"], [("amy", "task_assigned")]),
    ("task.due_soon", {"task": TASK, "notify": ["amy"]}, ["root"], [("amy", "task_due_soon")]),
    ("task.overdue", {"task": TASK, "notify": ["amy", "boss", "mgr", "amy"]}, ["root"],
     [("amy", "task_overdue"), ("boss", "task_overdue"), ("mgr", "task_overdue")]),
    ("task.completed", {"task": TASK}, ["root"], []),
    ("ticket.commented", {"ticket": TICKET}, ["root"], []),
    ("user.login_alert", LOGIN_ALERT, ["root"], [("amy", "login_alert")]),
])
def test_who_hears_of_which_event(event_type, data, admins, expected):
    notices = domain.notices_for(event_type, data, admins, actor="someone")
    assert [(notice.recipient, notice.kind) for notice in notices] == expected
    if event_type not in domain.TO_ADMINS:  # the service looks the admins up for these only
        assert domain.notices_for(event_type, data, [], actor="someone") == notices


def test_the_events_that_reach_the_admins_are_events_that_notify():
    assert domain.TO_ADMINS <= set(domain.TRIGGERS)


def test_a_contact_change_reaches_the_owner_and_the_people_serving_the_customer_once():
    data = {"customer": CUSTOMER, "contact_changed": True,
            "changes": [{"field": "office_phone", "before": None, "after": "021-5555-0101"}]}
    notices = domain.notices_for("customer.updated", data, ["root"], actor="boss",
                                 related=["amy", "bo", "cy", "bo", "boss"])
    assert [(notice.recipient, notice.kind) for notice in notices] == [
        ("amy", "contact_changed"), ("bo", "contact_changed"), ("cy", "contact_changed")]
    assert "office phone 021-5555-0101" in templates.render(
        "contact_changed", notices[0].params)[1].replace("- → ", "")


@pytest.mark.parametrize("kind, state, open_", [
    ("ticket", "pending", True), ("ticket", "in_progress", True), ("ticket", "done", False),
    ("ticket", "closed", False), ("task", "open", True), ("task", "done", False),
    ("task", "cancelled", False)])
def test_open_work(kind, state, open_):
    assert domain.is_open(kind, state) is open_


def test_a_churn_risk_reaches_the_owner_their_managers_and_the_admins_once_each():
    data = {"customer": CUSTOMER, "risk": {
        "value_tier": "high", "deal_amount": 800000.0, "owner": "amy", "quiet_days": 61,
        "last_activity_at": "2026-09-01T09:00:00+00:00", "warning_days": 60}}
    assert domain.escalated_owner("customer.churn_risk", data) == "amy"
    notices = domain.notices_for("customer.churn_risk", data, ["root", "boss"], actor=None,
                                 related=["boss", "mia"])
    assert [(notice.recipient, notice.kind) for notice in notices] == [
        ("amy", "churn_risk"), ("boss", "churn_risk"), ("mia", "churn_risk"),
        ("root", "churn_risk")]
    title, body = templates.render("churn_risk", notices[0].params, "zh")
    assert "高价值客户流失预警" in title and "61 天" in body


def test_the_actor_is_not_told_what_they_did_but_hears_of_breaches():
    assert domain.notices_for("ticket.created", {"ticket": TICKET}, [], actor="amy") == []
    breached = domain.notices_for("ticket.sla_breached", SLA, [], actor="amy")
    assert [notice.recipient for notice in breached] == ["amy"]


def test_retries_back_off_exponentially_and_stop():
    delays = [domain.retry_delay(attempt, 30, 6) for attempt in range(1, 7)]
    assert delays == [30, 60, 120, 240, 480, None]
    assert sum(delays[:-1]) == 930  # 15.5 minutes from the first try to the sixth


def emails(*ages_and_held):
    return [PendingEmail(f"e{index}", T0 + timedelta(seconds=age), held)
            for index, (age, held) in enumerate(ages_and_held)]


def test_a_lone_email_goes_out_at_once():
    plan = plan_emails(emails((0, False)), None, T0, 60)
    assert [email.id for email in plan.send] == ["e0"] and plan.hold == []


def test_a_burst_sends_the_first_and_holds_the_rest_for_the_window():
    plan = plan_emails(emails((2, False), (0, False), (1, False)), None, T0 + timedelta(seconds=3), 60)
    assert [email.id for email in plan.send] == ["e1"]
    assert [email.id for email in plan.hold] == ["e2", "e0"]
    assert plan.hold_until == T0 + timedelta(seconds=63)


def test_within_the_window_everything_waits_for_its_end():
    last_sent = T0 - timedelta(seconds=10)
    plan = plan_emails(emails((0, False)), last_sent, T0, 60)
    assert plan.send == [] and plan.hold_until == T0 + timedelta(seconds=50)


def test_after_the_window_the_held_emails_leave_together():
    plan = plan_emails(emails((0, True), (1, True), (50, False)), T0, T0 + timedelta(seconds=60), 60)
    assert [email.id for email in plan.send] == ["e0", "e1", "e2"] and plan.hold == []


def test_the_signature_is_the_hmac_sha256_of_the_timestamp_and_the_raw_body():
    body = b'{"id":"1"}'
    expected = hmac.new(b"key", b'1764000000.{"id":"1"}', hashlib.sha256).hexdigest()
    assert domain.signature("key", 1764000000, body) == f"sha256={expected}"
    assert domain.signature("key", 1764000001, body) != f"sha256={expected}"


@pytest.mark.parametrize("kind", sorted(templates.TEXTS))
def test_both_languages_use_the_same_placeholders(kind):
    def names(lang):
        return {name for text in templates.TEXTS[kind][lang]
                for _, name, _, _ in Formatter().parse(text) if name}

    assert set(templates.TEXTS[kind]) == set(templates.LANGUAGES)
    assert names("en") == names("zh")


@pytest.mark.parametrize("event_type, data", [
    ("ticket.created", {"ticket": TICKET}),
    ("ticket.sla_warning", SLA),
    ("ticket.sla_breached", SLA),
    ("ticket.transitioned", {"ticket": TICKET, "to": "done"}),
    ("customer.updated", {"customer": CUSTOMER, "contact_changed": True,
                          "changes": [{"field": "phone", "before": "1", "after": "2"}]}),
])
@pytest.mark.parametrize("lang", templates.LANGUAGES)
def test_every_message_names_its_ticket_or_customer(event_type, data, lang):
    (notice,) = domain.notices_for(event_type, data, [], actor=None)
    title, body = templates.render(notice.kind, notice.params, lang)
    subject_id = notice.params.get("ticket_id") or notice.params["customer_id"]
    assert subject_id in title and subject_id in body
    assert (TICKET["title"] if "ticket_id" in notice.params else CUSTOMER["name"]) in body


@pytest.mark.parametrize("lang, words", [("en", "has not used in the last 90 days"),
                                         ("zh", "登录")])
def test_a_login_alert_says_when_where_and_with_what(lang, words):
    (notice,) = domain.notices_for("user.login_alert", LOGIN_ALERT, [], actor=None)
    title, body = templates.render(notice.kind, notice.params, lang)
    assert words in title + body
    for value in ("2026-11-26T08:00:00+00:00", "198.51.100.7", "Firefox/140.0"):
        assert value in body


@pytest.mark.parametrize("event_type", ["task.created", "task.due_soon", "task.overdue"])
@pytest.mark.parametrize("lang", templates.LANGUAGES)
def test_every_task_message_names_the_task_its_customer_and_due_date(event_type, lang):
    (notice,) = domain.notices_for(event_type, {"task": TASK, "notify": ["amy"]}, [], actor=None)
    title, body = templates.render(notice.kind, notice.params, lang)
    assert "7" in title and TASK["title"] in body and TASK["customer_id"] in body
    assert TASK["due_at"] in body


def test_clock_and_field_names_are_translated():
    _, body = templates.render("sla_warning", {**SLA, "ticket_id": "T-1", "title": "x"}, "zh")
    assert "首次响应时限" in body
    _, body = templates.render("contact_changed", {"customer_id": "C-1", "customer_name": "Acme",
                                                   "changes": [{"field": "contact_name",
                                                                "before": "王", "after": "李"}]}, "zh")
    assert "联系人 王 → 李" in body


def test_an_email_is_bilingual_and_a_digest_lists_every_notice():
    notices = [("ticket_assigned", {"ticket_id": f"T-{n}", "title": "Printer jams",
                                    "customer_id": "C-1", "priority": "high"}) for n in range(3)]
    subject, body = templates.render_email(notices[:1])
    assert subject == "Ticket T-0 is assigned to you / 工单 T-0 已分配给您"
    subject, body = templates.render_email(notices)
    assert subject.startswith("3 notifications: Ticket T-0") and "3 条通知" in subject
    assert all(body.count(f"T-{n}") == 4 for n in range(3))  # title and body, in each language


RATED_LOW = {"ticket": TICKET, "rating": {"score": 1, "comment": "Still broken"}}


@pytest.mark.parametrize("managers, admins, expected", [
    (["mia"], ["root"], ["amy", "mia"]),        # the owner and their team's manager
    ([], ["root", "zed"], ["amy", "root", "zed"]),  # no manager: the admins
])
def test_a_dissatisfied_customer_reaches_the_owner_and_their_manager(managers, admins, expected):
    notices = domain.notices_for("ticket.dissatisfied", RATED_LOW, admins, actor="customer",
                                 related=managers)
    assert [(n.recipient, n.kind) for n in notices] == [(r, "ticket_dissatisfied") for r in expected]
    assert notices[0].params["score"] == 1


@pytest.mark.parametrize("kind, lang, words", [
    ("acknowledgement", "zh", "我们已收到您的反馈"),
    ("delay", "en", "needs more time"),
    ("outcome", "zh", "处理结果：Replaced"),
])
def test_a_customer_email_is_in_the_customers_language_only(kind, lang, words):
    email = domain.customer_email({"ticket": TICKET, "notice": {
        "kind": kind, "to": "wang@example.com", "language": lang,
        "params": {"ticket_id": TICKET["id"], "title": TICKET["title"], "contact_name": "",
                   "planned_completion_date": "2026-11-20", "reason": "Parts are late",
                   "solution": "Replaced the roller", "survey_id": 7}}},
        survey_link={7: "http://x/s/abc"}.get)
    assert (email.to, email.lang, email.target) == (
        "wang@example.com", lang, f"customer:{TICKET['id']}:{kind}")
    subject, body = templates.render_customer_email(email.kind, email.params, lang)
    assert words in subject + body
    other = "en" if lang == "zh" else "zh"
    assert templates.render_customer_email(email.kind, email.params, other)[0] not in subject
    if kind == "outcome":
        assert "http://x/s/abc" in body and "survey_id" not in email.params


def test_an_outcome_whose_survey_is_gone_asks_for_a_reply_instead():
    email = domain.customer_email({"ticket": TICKET, "notice": {
        "kind": "outcome", "to": "wang@example.com", "language": "en",
        "params": {"ticket_id": TICKET["id"], "title": TICKET["title"], "contact_name": "",
                   "solution": "Replaced the roller", "survey_id": 7}}},
        survey_link=lambda survey_id: None)  # answered by phone or expired meanwhile
    assert "reply to this email" in templates.render_customer_email(
        email.kind, email.params, "en")[1]


def test_the_monthly_report_goes_to_the_admins_and_every_manager_once():
    data = {"month": "2026-10", "filename": "customer-feedback-report-2026-10.pdf",
            "size": 1, "sha256": "0" * 64}
    notices = domain.notices_for("report.monthly_built", data, ["root", "zed"], None,
                                 ["mia", "zed"])
    assert [(notice.recipient, notice.kind) for notice in notices] == [
        ("root", "monthly_report"), ("zed", "monthly_report"), ("mia", "monthly_report")]
    assert notices[0].params == {"month": "2026-10",
                                 "filename": "customer-feedback-report-2026-10.pdf"}
