"""The reporting service in a real container on a throwaway RabbitMQ vhost and a fresh
PostgreSQL database: a known history published as the customer and ticket services publish
it gives exactly the expected summary; a repeat delivery counts once; the rebuild command
gives the same figures."""
import base64
import csv
import hashlib
import io
import os
import re
import subprocess
import sys
from datetime import datetime, timezone

import openpyxl
import pypdf
import pytest
from nameko.testing.services import entrypoint_hook, worker_factory
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import sessionmaker

from services.common.clock import ManualClock
from services.common.config import settings_from
from services.common.context import CallContext
from services.common.db import make_engine
from services.common.errors import NotFound, ValidationFailed
from services.common.outbox import UnitOfWork
from services.reporting import models, reports
from services.reporting.models import CurrentCount, DailyCount, EventLog, PeriodCount
from services.reporting.service import ReportingService
from services.reporting.simulate import EventStream
from tests.support.gateway_app import gateway_app
from tests.support.services import call, publish
from tests.support.waiting import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
RANGE = {"from": "2026-11-01", "to": "2026-11-20"}


def at(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


def customer_history(stream: EventStream) -> None:
    stream.create_customer("C1", at(2), type="prospect", grade="A", industry="MFG",
                           source="exhibition")
    stream.create_customer("C2", at(2), type="intent", grade="B", industry="TECH",
                           source="referral")
    stream.create_customer("C3", at(2), type="deal", grade="C", industry="RETAIL",
                           source="online", deal_amount=600000.0, deal_product="Plan",
                           signed_date="2026-11-01")
    stream.create_customer("C4", at(2), type="prospect", grade="C", industry="TECH")
    stream.convert("C1", at(3))
    stream.update_customer("C4", at(3, 10), type="churned")
    stream.log_followup("C1", at(2, 10), "positive")
    stream.log_followup("C2", at(3), "negative")
    stream.log_followup("C2", at(4), "positive")
    stream.log_followup("C3", at(5), "neutral")


def ticket_history(stream: EventStream) -> None:
    stream.create_ticket("C1-001", "C1", at(5), "aftersales", "complaint", "high",
                         channel="phone", department="售后服务部", late_entry=True)
    stream.transition("C1-001", "in_progress", at(5, 9, 5))
    stream.stop_clock("C1-001", "first_response", at(5, 9, 5), 300)
    stream.transition("C1-001", "done", at(5, 11))
    stream.stop_clock("C1-001", "resolution", at(5, 11), 7200)
    stream.stop_clock("C1-001", "update", at(5, 11), 7200)
    stream.rate("C1-001", at(5, 12), score=5, nps_score=10)
    stream.transition("C1-001", "closed", at(6))

    stream.create_ticket("C2-001", "C2", at(6), "presales", "inquiry", "medium")
    stream.breach("C2-001", "first_response", at(6, 11))
    stream.transition("C2-001", "in_progress", at(6, 12))
    stream.stop_clock("C2-001", "first_response", at(6, 12), 10800, met=False)
    stream.breach("C2-001", "resolution", at(7, 9))
    stream.transition("C2-001", "done", at(7, 10))
    stream.stop_clock("C2-001", "resolution", at(7, 10), 90000, met=False)
    stream.rate("C2-001", at(7, 11), score=3, nps_score=6)
    stream.transition("C2-001", "in_progress", at(8, 9))  # reopened: a new resolution cycle
    stream.transition("C2-001", "done", at(8, 10))
    stream.stop_clock("C2-001", "resolution", at(8, 10), 3600)

    stream.create_ticket("C3-001", "C3", at(19, 13), "aftersales", "inquiry", "low")
    stream.create_ticket("C3-002", "C3", at(15, 12), "insales", "need", "medium")
    stream.transition("C3-002", "in_progress", at(15, 12, 1))
    stream.stop_clock("C3-002", "first_response", at(15, 12, 1), 60)
    stream.create_ticket("C4-001", "C4", at(20, month=10), "value_added", "suggestion", "low")


def nothing_rated() -> dict:
    return {"count": 0, "average": None, "csat": None, "nps": None}


EXPECTED = {
    "range": {"from": "2026-11-01", "to": "2026-11-20"},
    "customers": {
        "total": 4, "new": 4,
        "by_type": {"prospect": 0, "intent": 1, "deal": 2, "churned": 1},
        "by_grade": {"A": 1, "B": 1, "C": 2},
        "by_industry": {"TECH": 2, "MFG": 1, "RETAIL": 1, "SVC": 0, "FIN": 0, "EDU": 0,
                        "GOV": 0, "OTHER": 0},
        "by_source": {"exhibition": 1, "referral": 1, "online": 1, "visit": 0, "other": 0,
                      "unspecified": 1},
        "by_status": {"active": 4, "dormant": 0, "churned": 0},
        "by_value_tier": {"high": 1, "mid": 1, "potential": 2},
        "converted": 1,
        "conversion_rate": 0.3333,  # C1 of C1, C2, C4
    },
    "revenue": {"total": 720000.0, "deals": 2,  # C3 signed on the 1st, C1 on the 3rd
                "by_customer_type": {"prospect": 0.0, "intent": 0.0, "deal": 720000.0,
                                     "churned": 0.0},
                "by_industry": {"TECH": 0.0, "MFG": 120000.0, "RETAIL": 600000.0, "SVC": 0.0,
                                "FIN": 0.0, "EDU": 0.0, "GOV": 0.0, "OTHER": 0.0},
                "by_owner": {"sales": 720000.0}, "by_month": {"2026-11": 720000.0}},
    "followups": {"total": 4, "by_outcome": {"positive": 2, "neutral": 1, "negative": 1},
                  "success_rate": 0.5, "by_owner": {"sales": {"count": 4, "success_rate": 0.5}}},
    "tickets": {
        "created": 4,  # C4-001 was created before the range
        "by_state": {"pending": 2, "in_progress": 1, "done": 1, "closed": 1},
        "by_service_type": {"presales": 1, "insales": 1, "aftersales": 2, "value_added": 0},
        "by_category": {"inquiry": 2, "complaint": 1, "suggestion": 0, "need": 1,
                        "cooperation": 0, "other": 0},
        "by_priority": {"high": 1, "medium": 2, "low": 1},
        "by_status_label": {"pending": 2, "in_progress": 1, "awaiting_customer": 0, "done": 1,
                            "unresolvable": 0, "closed": 1},
        "by_channel": {"phone": 1, "email": 0, "meeting": 0, "online_form": 0, "visit": 0,
                       "other": 0, "unspecified": 3},
        "by_department": {"售后服务部": 1, "unspecified": 3},
        "late_entries": 1,
    },
    "feedback": {
        "by_channel": {"phone": 1, "email": 0, "meeting": 0, "online_form": 0, "visit": 0,
                       "other": 0, "unspecified": 3},
        "by_department": {"售后服务部": 1, "unspecified": 3},
        "late_entries": 1, "quality": None, "speed": None, "effectiveness": None,
        "would_cooperate_again": {"answered": 0, "yes": None, "maybe": None, "no": None},
        "top_categories": [
            {"category": "complaint", "service_type": "aftersales", "count": 1},
            {"category": "inquiry", "service_type": "aftersales", "count": 1},
            {"category": "inquiry", "service_type": "presales", "count": 1},
            {"category": "need", "service_type": "insales", "count": 1}],
    },
    "satisfaction": {
        "count": 2, "average": 4.0, "csat": 0.5, "nps": 0.0,
        "by_service_type": {"presales": {"count": 1, "average": 3.0, "csat": 0.0, "nps": -1.0},
                            "insales": nothing_rated(),
                            "aftersales": {"count": 1, "average": 5.0, "csat": 1.0, "nps": 1.0},
                            "value_added": nothing_rated()},
        "by_customer_type": {"prospect": nothing_rated(),
                             "intent": {"count": 1, "average": 3.0, "csat": 0.0, "nps": -1.0},
                             "deal": {"count": 1, "average": 5.0, "csat": 1.0, "nps": 1.0},
                             "churned": nothing_rated()},
    },
    "sla": {"first_response": {"met": 2, "breached": 1, "compliance": 0.6667},
            "resolution": {"met": 2, "breached": 1, "compliance": 0.6667},
            "update": {"met": 1, "breached": 0, "compliance": 1.0}},
    # 60 s is kept exactly; 300 s, 7200 s and 90000 + 3600 s fall in buckets at most 2 % lower.
    "times": {"first_response_seconds": {"median": 297, "p90": 10706},
              "resolution_seconds": {"median": 7063, "p90": 92695}},
    "tasks": {"created": 0, "done": 0, "overdue": 0, "by_assignee": {}},
    "backlog": {"open": 3, "ageing": {"0-1d": 1, "1-3d": 0, "3-7d": 1, "7d+": 1}},
}


@pytest.fixture
def clock():
    return ManualClock(NOW)


@pytest.fixture
def config(make_config, clock):
    return make_config("reporting", clock=clock)


@pytest.fixture
def service(container_factory, config):
    container = container_factory(ReportingService, config)
    container.start()
    return container


@pytest.fixture
def database(config):
    engine = make_engine(settings_from(config).database_url("reporting"))
    yield sessionmaker(engine)
    engine.dispose()


def logged(database) -> int:
    with database() as session:
        return session.scalar(select(func.count()).select_from(EventLog))


def wait_for_log(database, expected: int, timeout: float = 60) -> None:
    wait_until(lambda: logged(database) >= expected, timeout, interval=0.05,
               message=f"{expected} events consumed")


def feed(config, database, stream: EventStream, history) -> None:
    """Publish one part of a history over the broker and wait until all of it is consumed."""
    already = len(stream.envelopes)
    history(stream)
    publish(config["AMQP_URI"], *stream.envelopes[already:])
    wait_for_log(database, len(stream.envelopes))


@pytest.fixture
def known_history(service, config, database) -> EventStream:
    stream = EventStream()
    # Customers first: a rating counts under the customer's type known at that moment.
    feed(config, database, stream, customer_history)
    feed(config, database, stream, ticket_history)
    return stream


def test_a_known_history_over_the_broker_gives_exactly_the_expected_summary(service,
                                                                             known_history):
    assert call(service, "summary", RANGE) == EXPECTED


def test_figures_follow_the_range(service, known_history):
    one_day = call(service, "summary", {"from": "2026-11-06", "to": "2026-11-06"})
    assert one_day["tickets"]["created"] == 1
    assert one_day["sla"]["first_response"] == {"met": 0, "breached": 1, "compliance": 0.0}
    assert one_day["satisfaction"]["count"] == 0
    assert one_day["followups"]["total"] == 0
    after_conversions = call(service, "summary", {"from": "2026-11-04", "to": "2026-11-20"})
    # Only C2 was still prospect or intent when the range began, and it did not convert.
    assert after_conversions["customers"]["converted"] == 0
    assert after_conversions["customers"]["conversion_rate"] == 0.0
    # Current counts do not depend on the range.
    assert after_conversions["tickets"]["by_state"] == EXPECTED["tickets"]["by_state"]


def test_the_default_range_is_the_last_30_days(service, known_history, clock):
    assert call(service, "summary", {})["range"] == {"from": "2026-10-22", "to": "2026-11-20"}
    clock.advance(86400 * 40)
    later = call(service, "summary")
    assert later["range"] == {"from": "2026-12-01", "to": "2026-12-30"}
    assert later["tickets"]["created"] == 0 and later["customers"]["total"] == 4
    assert later["backlog"]["ageing"] == {"0-1d": 0, "1-3d": 0, "3-7d": 0, "7d+": 3}


@pytest.mark.parametrize("query, field", [
    ({"from": "2026-11-21", "to": "2026-11-20"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"to": "2026-13-01"}, "to"),
    ({"since": "2026-11-01"}, "since"),
])
def test_bad_ranges_are_refused_naming_the_field(service, query, field):
    with pytest.raises(ValidationFailed) as refused:
        call(service, "summary", query)
    assert field in refused.value.details["fields"]


def test_a_repeated_delivery_takes_effect_once(service, config, database):
    stream = EventStream()
    stream.create_customer("C1", at(2))
    created = stream.create_ticket("C1-001", "C1", at(5))
    publish(config["AMQP_URI"], *stream.envelopes, created, created)
    wait_for_log(database, 2)
    call(service, "on_ticket_event", [created])  # and once more, straight into the handler
    figures = call(service, "summary", RANGE)
    assert figures["tickets"]["created"] == 1
    assert figures["tickets"]["by_state"]["pending"] == 1
    assert logged(database) == 2


def test_rebuild_replays_the_log_into_the_same_figures(service, known_history, database, config):
    before = call(service, "summary", RANGE)
    with database() as session:  # damage the aggregates: the rebuild must not build on them
        session.execute(delete(CurrentCount))
        session.execute(update(DailyCount).values(n=DailyCount.n + 7))
        session.execute(update(PeriodCount).values(n=PeriodCount.n + 5))
        session.commit()
    assert call(service, "summary", RANGE) != before

    with database() as session:
        assert reports.rebuild(session) == len(known_history.envelopes)
    assert call(service, "summary", RANGE) == before == EXPECTED


def test_the_rebuild_command_gives_the_same_figures(service, known_history, database, config):
    with database() as session:
        session.execute(delete(DailyCount))
        session.commit()
    environment = {**os.environ, "PYTHONPATH": ROOT,
                   "REPORTING_DATABASE_URL": settings_from(config).database_url("reporting")}
    done = subprocess.run([sys.executable, "-m", "services.reporting.rebuild"], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"from {len(known_history.envelopes)} events" in done.stderr
    assert call(service, "summary", RANGE) == EXPECTED


def test_a_malformed_event_changes_nothing(service, config, database):
    stream = EventStream()
    stream.create_ticket("C1-001", "C1", at(5))
    broken = {**stream.envelopes[0], "data": {"ticket": {"id": "C1-001"}}}
    with pytest.raises(ValidationFailed):
        call(service, "on_ticket_event", [broken])
    assert logged(database) == 0


def test_handlers_apply_the_rules_through_worker_factory(config, database, clock):
    """The entrypoints with a real unit of work and no container."""
    uow = UnitOfWork(database, models, "reporting", CallContext.from_data({}), clock)
    worker = worker_factory(ReportingService, uow=uow)
    stream = EventStream()
    customer_history(stream)
    handlers = {"customers": worker.on_customer_event, "tickets": worker.on_ticket_event}
    for envelope in stream.envelopes:
        if envelope["type"] == "followup.logged":
            worker.on_followup_logged([envelope])
        else:
            handlers[envelope["source"]]([envelope])
    figures = worker.summary(RANGE)
    assert figures["customers"] == EXPECTED["customers"]
    assert figures["followups"] == EXPECTED["followups"]


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "pdf"])
def test_exports_are_files_of_the_range(service, known_history, file_format):
    built = call(service, "export", {**RANGE, "format": file_format})
    assert built["filename"] == f"deskflow-report-2026-11-01_2026-11-20.{file_format}"
    content = base64.b64decode(built["content"])
    if file_format == "csv":
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        assert ["Tickets", "Tickets by state", "pending", "Count", "2"] in rows
    else:
        assert content[:4] == (b"PK\x03\x04" if file_format == "xlsx" else b"%PDF")


def test_an_unknown_export_format_is_refused(service):
    with pytest.raises(ValidationFailed) as refused:
        call(service, "export", {"format": "docx"})
    assert "format" in refused.value.details["fields"]


# --- the exports' trends and detail rows (issue 13, item 3) --------------------------------

def all_rows(service, table: str, limit: int) -> tuple[list, int]:
    """Every row of a detail table over RPC, page by page; (rows, pages)."""
    rows, after, pages = [], None, 0
    while True:
        page = call(service, "export_rows", {**RANGE, "table": table, "after": after,
                                             "limit": limit})
        rows, after, pages = rows + page["rows"], page["after"], pages + 1
        if after is None:
            return rows, pages


def test_the_export_outline_has_weekly_trends_and_detail_totals(service, known_history):
    outline = call(service, "export_outline", {**RANGE, "format": "xlsx"})
    assert outline["report"] == EXPECTED
    assert outline["details"] == {"detail_converted": 1, "detail_tickets": 4,
                                  "detail_ratings": 2, "detail_followups": 4}
    weeks = ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16"]
    assert outline["trends"] == [
        {"key": "trend_tickets_created", "interval": "week", "kind": "count",
         "points": [[week, n] for week, n in zip(weeks, [0, 2, 1, 1])]},
        {"key": "trend_revenue", "interval": "week", "kind": "money",
         # signed deals: C3 (signed 2026-11-01, a Sunday) and C1 (converted on the 3rd)
         "points": [[week, n] for week, n in zip(weeks, [600000.0, 120000.0, 0.0, 0.0])]},
        {"key": "trend_satisfaction", "interval": "week", "kind": "score",
         "points": [[week, n] for week, n in zip(weeks, [None, 4.0, None, None])]},
    ]
    yearly = call(service, "export_outline", {"from": "2026-01-01", "to": "2026-11-20",
                                              "format": "pdf"})
    assert [point[0] for point in yearly["trends"][0]["points"]][-3:] == [
        "2026-09-01", "2026-10-01", "2026-11-01"]
    assert yearly["trends"][0]["points"][-2:] == [["2026-10-01", 1], ["2026-11-01", 4]]


def test_detail_rows_page_through_the_range_with_their_sla_outcomes(service, known_history):
    tickets, pages = all_rows(service, "detail_tickets", limit=3)
    assert pages == 2
    outcomes = {row[1]: (row[8], row[9], row[10]) for row in tickets}
    assert outcomes == {
        "C1-001": ("closed", "met", "met"),
        # breached, then met after the reopen: a breached clock stays breached
        "C2-001": ("done", "breached", "breached"),
        "C3-002": ("in_progress", "met", None),
        "C3-001": ("pending", None, None),
    }
    assert [row[1] for row in tickets] == ["C1-001", "C2-001", "C3-002", "C3-001"]
    ratings, _ = all_rows(service, "detail_ratings", limit=1000)
    assert [(row[1], row[4], row[8]) for row in ratings] == [("C1-001", 5, 10), ("C2-001", 3, 6)]
    followups, pages = all_rows(service, "detail_followups", limit=1)
    assert pages == 4 and [row[5] for row in followups] == [
        "positive", "negative", "positive", "neutral"]
    converted, _ = all_rows(service, "detail_converted", limit=1000)
    assert converted == [["2026-11-03", "C1", "Customer C1", "MFG", converted[0][4], 120000.0,
                          converted[0][6], converted[0][7]]]


def test_detail_rows_survive_a_rebuild(service, known_history, database):
    before = {table: all_rows(service, table, 1000)[0] for table in
              ("detail_converted", "detail_tickets", "detail_ratings", "detail_followups")}
    with database() as session:
        assert reports.rebuild(session) == len(known_history.envelopes)
    assert {table: all_rows(service, table, 1000)[0] for table in before} == before


@pytest.mark.parametrize("query, field", [
    ({"table": "customers"}, "table"),
    ({"table": "detail_tickets", "limit": 0}, "limit"),
    ({"table": "detail_tickets", "after": ["2026-11-05"]}, "after"),
])
def test_bad_row_queries_are_refused_naming_the_field(service, query, field):
    with pytest.raises(ValidationFailed) as refused:
        call(service, "export_rows", query)
    assert field in refused.value.details["fields"]


def test_a_position_no_page_returned_is_refused(service):
    with pytest.raises(ValidationFailed):
        call(service, "export_rows", {"table": "detail_tickets", "after": ["soon", "C1-001"]})
    with pytest.raises(ValidationFailed):
        call(service, "export_rows", {"table": "detail_followups",
                                      "after": ["2026-11-05T00:00:00+00:00", "x"]})
    with pytest.raises(ValidationFailed):  # a moment without its offset
        call(service, "export_rows", {"table": "detail_tickets",
                                      "after": ["2026-11-05T00:00:00", "C1-001"]})


# --- the monthly feedback report (客户反馈分析报告, issue 13 item 5) -------------------------

def feedback_history(stream: EventStream) -> None:
    """November's suggestion and a rating with a comment."""
    stream.create_ticket("C2-002", "C2", at(10), "aftersales", "suggestion", "low")
    stream.tickets["C2-002"]["title"] = "希望增加夜间值班"
    stream.transition("C2-002", "done", at(10, 15))
    rated = stream.rate("C2-002", at(11), score=4, nps_score=8)
    rated["data"]["rating"]["comment"] = "响应速度需提升"


def download_report(service, month: str) -> bytes:
    pieces, offset = [], 0
    while offset is not None:
        piece = call(service, "monthly_report_chunk", month, offset)
        pieces.append(base64.b64decode(piece["content"]))
        offset = piece["next"]
    return b"".join(pieces)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(content)).pages)


def monthly_events(database) -> list[dict]:
    with database() as session:
        return [row.envelope for row in session.scalars(
            select(models.Outbox).where(models.Outbox.event_type == "report.monthly_built"))]


def test_a_past_months_report_is_built_once_kept_and_announced(service, known_history,
                                                                database):
    built = call(service, "build_monthly_report", "2026-10")
    assert (built["month"], built["complete"]) == ("2026-10", True)
    assert built["filename"] == "customer-feedback-report-2026-10.pdf"
    content = download_report(service, "2026-10")
    assert len(content) == built["size"] and content[:4] == b"%PDF"
    assert hashlib.sha256(content).hexdigest() == built["sha256"]
    text = pdf_text(content)
    for words in ("客户反馈分析报告", "2026-10", "2026-09", "各服务类型满意度", "各客户类型满意度",
                  "高频问题类型", "客户建议", "客户评价意见", "SLA 达成率", "超 24 小时录入"):
        assert words in text, words
    (event,) = monthly_events(database)
    assert event["data"] == {key: built[key] for key in
                             ("month", "filename", "size", "sha256", "built_at", "built_by")}
    again = call(service, "build_monthly_report", "2026-10")
    assert again == built and len(monthly_events(database)) == 1
    assert call(service, "monthly_reports") == [built]


def test_the_timer_builds_last_month_on_the_first_with_its_comparison(
        service, config, database, known_history, clock):
    feed(config, database, known_history, feedback_history)
    in_progress = call(service, "build_monthly_report", "2026-11")
    assert in_progress["complete"] is False and monthly_events(database) == []
    clock.advance(86400 * 11)  # 2026-12-01 12:00
    with entrypoint_hook(service, "build_monthly_report_due") as tick:
        tick()
    (listed,) = call(service, "monthly_reports")
    assert (listed["month"], listed["complete"]) == ("2026-11", True)
    assert [event["data"]["month"] for event in monthly_events(database)] == ["2026-11"]
    text = pdf_text(download_report(service, "2026-11"))
    for words in ("希望增加夜间值班", "响应速度需提升", "2026-10", "售后维护", "投诉"):
        assert words in text, words
    with entrypoint_hook(service, "build_monthly_report_due") as tick:
        tick()  # built and complete: nothing more
    assert len(monthly_events(database)) == 1


@pytest.mark.parametrize("month", ["2026-12", "2026-13", "26-10", "", "2026-1"])
def test_a_month_not_begun_or_malformed_is_refused(service, month):
    with pytest.raises(ValidationFailed) as refused:
        call(service, "build_monthly_report", month)
    assert "month" in refused.value.details["fields"]


def test_a_report_not_built_is_not_found(service):
    with pytest.raises(NotFound):
        call(service, "monthly_report_chunk", "2026-09", 0)


# --- the gateway writes CSV, Excel and PDF files page by page (issue 13, item 3) -----------

def test_the_gateway_streams_every_detail_row_across_pages(service, config, database,
                                                           tmp_path):
    """2,500 ticket rows: three pages of the reporting service's rows for each file."""
    tickets = 2500
    with database() as session:
        session.execute(insert(models.TicketDetail), [{
            "id": f"C{n:05d}-001", "created_at": at(1 + n % 19, 8, n % 60),
            "customer_id": f"C{n:05d}", "title": f"工单 {n}", "service_type": "aftersales",
            "category": "inquiry", "priority": "low", "owner": "wang", "state": "pending",
            "updated_at": None, "first_response": None, "resolution": None}
            for n in range(tickets)])
        session.commit()
    app = gateway_app(tmp_path, config["AMQP_URI"], RPC_TIMEOUT="30")
    app.extensions["deskflow"].users.ensure_admin("admin", "Admin#12345", False, {})
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={
        "username": "admin", "password": "Admin#12345"}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    response = client.get("/api/v1/reports/export", headers=headers,
                          query_string={**RANGE, "format": "csv"})
    assert response.status_code == 200 and response.is_streamed
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    start = rows.index(["Tickets created (details)", str(tickets)]) + 2
    listed = rows[start:rows.index([], start)]
    assert len(listed) == tickets and len({row[1] for row in listed}) == tickets
    assert [row[0] for row in listed] == sorted(row[0] for row in listed)

    response = client.get("/api/v1/reports/export", headers=headers,
                          query_string={**RANGE, "format": "xlsx", "lang": "zh"})
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    workbook = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    assert sum(1 for _ in workbook["服务记录明细"].iter_rows()) == 1 + tickets

    response = client.get("/api/v1/reports/export", headers=headers,
                          query_string={**RANGE, "format": "pdf", "lang": "zh"})
    assert response.status_code == 200
    text = pdf_text(response.get_data())
    assert f"服务记录明细 ({tickets})" in text
    assert len(set(re.findall(r"\bC\d{5}-001\b", text))) == tickets  # every row, in pages
    bad = client.get("/api/v1/reports/export", headers=headers,
                     query_string={"format": "docx"})
    assert bad.status_code == 422 and "format" in bad.get_json()["error"]["details"]["fields"]
