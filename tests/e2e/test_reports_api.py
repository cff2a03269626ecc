"""Reports through the gateway: customers, follow-ups, tickets and ratings made over HTTP
reach the reporting service as events and give exactly the expected summary and files.

The stack is this module's own, so figures made by other tests do not mix in."""
import csv
import io
import time
from datetime import datetime, timedelta, timezone

import openpyxl
import pypdf
import pytest
from openpyxl.chart import BarChart, LineChart, PieChart

from tests.support.customers import customer_payload
from tests.support.stack import open_ticket, running_stack

pytestmark = pytest.mark.e2e

SUMMARY = "/api/v1/reports/summary"
TREND = "/api/v1/reports/trend"
EXPORT = "/api/v1/reports/export"
CONVERGE_SECONDS = 60


@pytest.fixture(scope="module")
def reports_stack(rabbit_manager, databases, tmp_path_factory):
    with running_stack(rabbit_manager, databases, tmp_path_factory.mktemp("reports")) as running:
        yield running


def ok(response, status=200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def make_customer(api, name, **fields) -> str:
    return ok(api.post("/api/v1/customers", json=customer_payload(name=name, **fields)), 201)["id"]


def deal_fields(today, amount=200000) -> dict:
    return {"type": "deal", "deal_amount": amount, "deal_product": "Support plan",
            "signed_date": today.isoformat()}


def log_followup(api, customer_id, outcome):
    moment = datetime.now(timezone.utc) - timedelta(hours=1)
    ok(api.post(f"/api/v1/customers/{customer_id}/followups", json={
        "at": moment.isoformat(), "channel": "phone", "subject": "Call",
        "outcome": outcome}), 201)


def move(api, ticket_id, *states):
    for state in states:
        body = {"to": state}
        if state == "done":
            body.update(solution="Fixed it", resolution="resolved")
        ok(api.post(f"/api/v1/tickets/{ticket_id}/transitions", json=body))


@pytest.fixture(scope="module")
def history(reports_stack):
    """What sales and support do through the API; returns the summary it must give."""
    admin, sales = reports_stack.admin(), reports_stack.user("sales")
    support = reports_stack.user("support")
    today = datetime.now(timezone.utc).date()
    p1 = make_customer(sales, "Alpha Works", industry="MFG", grade="A", source="exhibition")
    p2 = make_customer(sales, "Beta Labs", industry="TECH", grade="C", source="other")
    i1 = make_customer(sales, "Gamma Soft", industry="TECH", grade="B", type="intent",
                       source="referral")
    d1 = make_customer(sales, "Delta Mart", industry="RETAIL", grade="C", source="online",
                       **deal_fields(today, 650000.5))
    x1 = make_customer(sales, "Epsilon Care", industry="SVC", grade="B", source="visit")
    ok(sales.patch(f"/api/v1/customers/{p1}", json=deal_fields(today)))
    ok(sales.patch(f"/api/v1/customers/{p2}", json={"type": "churned"}))
    assert admin.delete(f"/api/v1/customers/{x1}").status_code == 204
    for customer_id, outcome in ((p1, "positive"), (p2, "negative"), (i1, "positive"),
                                 (d1, "neutral")):
        log_followup(sales, customer_id, outcome)

    t1 = open_ticket(support, p1, category="complaint", priority="high", channel="phone")["id"]
    move(support, t1, "in_progress", "done")
    ok(support.post(f"/api/v1/tickets/{t1}/rating", json={
        "score": 5, "nps_score": 10, "quality": 5, "speed": 4, "effectiveness": 5,
        "would_cooperate_again": "yes"}), 201)
    move(support, t1, "closed")
    t2 = open_ticket(support, i1, service_type="presales")["id"]
    move(support, t2, "in_progress", "done")
    ok(support.post(f"/api/v1/tickets/{t2}/rating", json={
        "score": 3, "nps_score": 6, "quality": 3, "speed": 2, "effectiveness": 3,
        "would_cooperate_again": "maybe"}), 201)
    t3 = open_ticket(support, d1, priority="low")["id"]
    ok(support.post(f"/api/v1/tickets/{t3}/comments", json={"body": "On it", "public": True}),
       201)
    t4 = open_ticket(support, d1, service_type="insales", category="need")["id"]
    move(support, t4, "in_progress")

    rated_none = {"count": 0, "average": None, "csat": None, "nps": None}
    return {
        "range": {"from": (today - timedelta(days=29)).isoformat(), "to": today.isoformat()},
        "customers": {
            "total": 4, "new": 5,
            "by_type": {"prospect": 0, "intent": 1, "deal": 2, "churned": 1},
            "by_grade": {"A": 1, "B": 1, "C": 2},
            "by_industry": {"TECH": 2, "MFG": 1, "RETAIL": 1, "SVC": 0, "FIN": 0, "EDU": 0,
                            "GOV": 0, "OTHER": 0},
            "by_source": {"exhibition": 1, "referral": 1, "online": 1, "visit": 0, "other": 1,
                          "unspecified": 0},
            "by_status": {"active": 4, "dormant": 0, "churned": 0},
            "by_value_tier": {"high": 1, "mid": 1, "potential": 2},
            "converted": 1,
            "conversion_rate": 0.25,  # Alpha of Alpha, Beta, Gamma and the deleted Epsilon
        },
        # Delta signed 650,000.50 as it was made, Alpha 200,000 when it converted.
        "revenue": {"total": 850000.5, "deals": 2,
                    "by_customer_type": {"prospect": 0.0, "intent": 0.0, "deal": 850000.5,
                                         "churned": 0.0},
                    "by_industry": {"TECH": 0.0, "MFG": 200000.0, "RETAIL": 650000.5,
                                    "SVC": 0.0, "FIN": 0.0, "EDU": 0.0, "GOV": 0.0,
                                    "OTHER": 0.0},
                    "by_owner": {sales.username: 850000.5},
                    "by_month": {today.isoformat()[:7]: 850000.5}},
        "followups": {"total": 4, "by_outcome": {"positive": 2, "neutral": 1, "negative": 1},
                      "success_rate": 0.5,
                      "by_owner": {sales.username: {"count": 4, "success_rate": 0.5}}},
        "tickets": {
            "created": 4,
            "by_state": {"pending": 1, "in_progress": 1, "done": 1, "closed": 1},
            "by_service_type": {"presales": 1, "insales": 1, "aftersales": 2, "value_added": 0},
            "by_category": {"inquiry": 2, "complaint": 1, "suggestion": 0, "need": 1,
                            "cooperation": 0, "other": 0},
            "by_priority": {"high": 1, "medium": 2, "low": 1},
            "by_status_label": {"pending": 1, "in_progress": 1, "awaiting_customer": 0,
                                "done": 1, "unresolvable": 0, "closed": 1},
            "by_channel": {"phone": 1, "email": 0, "meeting": 0, "online_form": 0, "visit": 0,
                           "other": 0, "unspecified": 3},
            "by_department": {"unspecified": 4},
            "late_entries": 0,
        },
        "feedback": {
            "by_channel": {"phone": 1, "email": 0, "meeting": 0, "online_form": 0, "visit": 0,
                           "other": 0, "unspecified": 3},
            "by_department": {"unspecified": 4},
            "late_entries": 0, "quality": 4.0, "speed": 3.0, "effectiveness": 4.0,
            "would_cooperate_again": {"answered": 2, "yes": 0.5, "maybe": 0.5, "no": 0.0},
            "top_categories": [
                {"category": "complaint", "service_type": "aftersales", "count": 1},
                {"category": "inquiry", "service_type": "aftersales", "count": 1},
                {"category": "inquiry", "service_type": "presales", "count": 1},
                {"category": "need", "service_type": "insales", "count": 1}],
        },
        "satisfaction": {
            "count": 2, "average": 4.0, "csat": 0.5, "nps": 0.0,
            "by_service_type": {
                "presales": {"count": 1, "average": 3.0, "csat": 0.0, "nps": -1.0},
                "insales": rated_none,
                "aftersales": {"count": 1, "average": 5.0, "csat": 1.0, "nps": 1.0},
                "value_added": rated_none},
            "by_customer_type": {
                "prospect": rated_none,
                "intent": {"count": 1, "average": 3.0, "csat": 0.0, "nps": -1.0},
                "deal": {"count": 1, "average": 5.0, "csat": 1.0, "nps": 1.0},
                "churned": rated_none},
        },
        # Four first responses (three moves to in_progress, one public comment), two
        # resolutions, and six ended update cycles (each move within the open states and the
        # public comment restart it; done stops it). Nothing is late in a test this short.
        "sla": {"first_response": {"met": 4, "breached": 0, "compliance": 1.0},
                "resolution": {"met": 2, "breached": 0, "compliance": 1.0},
                "update": {"met": 6, "breached": 0, "compliance": 1.0}},
        "backlog": {"open": 2, "ageing": {"0-1d": 2, "1-3d": 0, "3-7d": 0, "7d+": 0}},
    }


# Durations are real time here, and the tasks are the workflow rules' (checked against the
# workflow service's own list below).
UNKNOWN_IN_ADVANCE = ("times", "tasks")


def settled_summary(api, expected: dict) -> dict:
    """The summary once every event has been consumed (they arrive asynchronously)."""
    deadline = time.monotonic() + CONVERGE_SECONDS
    while True:
        summary = ok(api.get(SUMMARY))
        timeless = {key: value for key, value in summary.items() if key not in UNKNOWN_IN_ADVANCE}
        if timeless == expected or time.monotonic() > deadline:
            return summary
        time.sleep(0.25)


def test_the_summary_is_exactly_what_was_done_through_the_api(reports_stack, history):
    summary = settled_summary(reports_stack.user("sales"), history)
    assert {key: value for key, value in summary.items()
            if key not in UNKNOWN_IN_ADVANCE} == history
    # Durations are real time here, so only their shape is known: whole seconds, in order.
    for figures in summary["times"].values():
        assert 0 <= figures["median"] <= figures["p90"]
        assert isinstance(figures["p90"], int)


def test_ranges_are_checked(reports_stack):
    api = reports_stack.admin()
    response = api.get(SUMMARY, params={"from": "2026-11-02", "to": "2026-11-01"})
    assert response.status_code == 422
    assert "from" in response.json()["error"]["details"]["fields"]
    assert api.get(SUMMARY, params={"to": "someday"}).status_code == 422
    assert api.get(EXPORT, params={"format": "docx"}).status_code == 422
    explicit = ok(api.get(SUMMARY, params={"from": "2026-01-01", "to": "2026-01-31"}))
    assert explicit["range"] == {"from": "2026-01-01", "to": "2026-01-31"}


def tasks_as_the_workflow_lists_them(api, start, end) -> dict:
    """``tasks`` of the summary, counted from the workflow service's own task list."""
    tasks, page = [], 1
    while True:
        listed = ok(api.get("/api/v1/tasks", params={"page": page, "per_page": 200}))
        tasks += listed["items"]
        if page * listed["per_page"] >= listed["total"]:
            break
        page += 1

    def in_range(moment):
        return moment is not None and start <= datetime.fromisoformat(moment).astimezone(
            timezone.utc).date() <= end

    figures = {"created": 0, "done": 0, "overdue": 0, "by_assignee": {}}
    for task in tasks:
        row = figures["by_assignee"].setdefault(task["assignee"],
                                                {"created": 0, "done": 0, "overdue": 0})
        for name, moment in (("created", task["created_at"]), ("done", task["completed_at"])):
            if in_range(moment):
                figures[name] += 1
                row[name] += 1
    return figures


def test_tasks_are_what_the_workflow_rules_made(reports_stack, history):
    api = reports_stack.admin()
    summary = settled_summary(reports_stack.user("sales"), history)
    start, end = (datetime.fromisoformat(day).date() for day in summary["range"].values())
    expected = tasks_as_the_workflow_lists_them(api, start, end)
    assert expected["created"] > 0  # the default rules made follow-up tasks
    deadline = time.monotonic() + CONVERGE_SECONDS
    while summary["tasks"] != expected and time.monotonic() < deadline:
        time.sleep(0.25)
        summary = ok(reports_stack.user("sales").get(SUMMARY))
        expected = tasks_as_the_workflow_lists_them(api, start, end)
    assert summary["tasks"] == expected


def test_trends_of_what_was_done_today(reports_stack, history):
    api = reports_stack.user("sales")
    settled_summary(api, history)
    today = datetime.now(timezone.utc).date()
    expected_today = {"tickets.created": 4, "customers.new": 5, "revenue": 850000.5,
                      "satisfaction.average": 4.0, "nps": 0.0, "sla.compliance": 1.0}
    for metric, value in expected_today.items():
        trend = ok(api.get(TREND, params={"metric": metric, "interval": "day", "range": "30d"}))
        assert trend["metric"] == metric and trend["interval"] == "day"
        assert [point["period"] for point in trend["points"]] == [
            (today - timedelta(days=back)).isoformat() for back in range(29, -1, -1)]
        assert trend["points"][-1] == {"period": today.isoformat(), "value": value}, metric
        assert {point["value"] for point in trend["points"][:-1]} <= {0, None}, metric
    monthly = ok(api.get(TREND, params={"metric": "revenue", "interval": "month",
                                        "from": today.isoformat(), "to": today.isoformat()}))
    assert monthly["points"] == [{"period": today.replace(day=1).isoformat(),
                                  "value": 850000.5}]


@pytest.mark.parametrize("params, field, named", [
    ({"metric": "tickets.closed"}, "metric", "sla.compliance"),
    ({"metric": "nps", "interval": "hour"}, "interval", "month"),
    ({"metric": "nps", "range": "decade"}, "range", "quarter"),
    ({"metric": "nps", "range": "30d", "from": "2026-01-01"}, "range", "from"),
])
def test_bad_trend_queries_are_422_naming_what_is_allowed(reports_stack, params, field, named):
    response = reports_stack.admin().get(TREND, params=params)
    assert response.status_code == 422, response.text
    assert named in " ".join(response.json()["error"]["details"]["fields"][field])


def test_summary_ranges_by_name(reports_stack):
    api = reports_stack.admin()
    today = datetime.now(timezone.utc).date()
    year = ok(api.get(SUMMARY, params={"range": "year"}))
    assert year["range"] == {"from": f"{today.year}-01-01", "to": today.isoformat()}
    quarter = ok(api.get(SUMMARY, params={"range": "quarter"}))
    assert quarter["range"]["from"] == today.replace(
        month=3 * ((today.month - 1) // 3) + 1, day=1).isoformat()
    response = api.get(SUMMARY, params={"range": "year", "to": today.isoformat()})
    assert response.status_code == 422
    assert "range" in response.json()["error"]["details"]["fields"]


def test_reports_are_for_admin_and_sales_only(reports_stack):
    support = reports_stack.user("support")
    assert support.get(SUMMARY).status_code == 403
    assert support.get(EXPORT, params={"format": "csv"}).status_code == 403
    assert reports_stack.anonymous().get(SUMMARY).status_code == 401


def download(api, file_format, lang="en"):
    response = api.get(EXPORT, params={"format": file_format, "lang": lang})
    assert response.status_code == 200, response.text
    return response


@pytest.fixture(scope="module")
def settled(reports_stack, history):
    api = reports_stack.user("sales")
    settled_summary(api, history)
    return api


@pytest.mark.parametrize("lang, row", [
    ("en", ["Tickets", "Tickets by state", "closed", "Count", "1"]),
    ("zh", ["服务记录", "工单状态分布", "已关闭", "数量", "1"]),
    ("zh", ["服务记录", "当前处理状态分布", "处理中", "数量", "1"]),
    ("zh", ["服务记录", "反馈渠道分布", "电话", "数量", "1"]),
])
def test_csv_export(settled, history, lang, row):
    response = download(settled, "csv", lang)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    span = f"{history['range']['from']}_{history['range']['to']}"
    suffix = "-zh" if lang == "zh" else ""
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="deskflow-report-{span}{suffix}.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert row in rows
    figures = rows[:rows.index([])]  # then the trends and the detail rows, as sections
    assert len(figures[0]) == 5 and all(len(line) == 5 for line in figures)


def test_csv_export_has_every_detail_row(settled):
    rows = list(csv.reader(io.StringIO(download(settled, "csv", "zh").content
                                       .decode("utf-8-sig"))))
    for heading, total in (("成交客户明细", 1), ("服务记录明细", 4), ("客户评价明细", 2),
                           ("跟进记录明细", 4)):
        start = rows.index([heading, str(total)]) + 2
        end = rows.index([], start) if [] in rows[start:] else len(rows)
        assert len(rows[start:end]) == total, heading
    converted = rows[rows.index(["成交客户明细", "1"]) + 2]
    assert converted[2:7] == ["Alpha Works", "制造业", converted[4], "CNY 200,000.00",
                              "Support plan"]
    tickets = rows[rows.index(["服务记录明细", "4"]) + 2:][:4]
    assert sorted(ticket[-2] for ticket in tickets) == ["达标", "达标", "达标", "达标"]


@pytest.mark.parametrize("lang, customers, tickets, heading", [
    ("en", "Customers", "Tickets", "Customers by type"),
    ("zh", "客户", "服务记录", "客户类型分布"),
])
def test_excel_export_has_a_sheet_per_section_and_native_charts(settled, lang, customers,
                                                                tickets, heading):
    response = download(settled, "xlsx", lang)
    assert response.headers["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(workbook.sheetnames) == 10 + 1 + 4  # sections, trends, detail tables
    trends = workbook["趋势" if lang == "zh" else "Trends"]
    assert [type(chart) for chart in trends._charts] == [LineChart] * 3
    details = {"客户评价明细" if lang == "zh" else "Ratings (details)": 2,
               "服务记录明细" if lang == "zh" else "Tickets created (details)": 4,
               "跟进记录明细" if lang == "zh" else "Follow-ups (details)": 4}
    for name, total in details.items():
        assert workbook[name].max_row == 1 + total
    sheet = workbook[customers]
    assert any(isinstance(chart, PieChart) for chart in sheet._charts)
    assert any(isinstance(chart, BarChart) for chart in workbook[tickets]._charts)
    cells = [[cell.value for cell in line] for line in sheet.iter_rows()]
    assert [heading] in [line[:1] for line in cells]
    counts = {line[0]: line[1] for line in cells if line and line[1] is not None}
    deal = "成交" if lang == "zh" else "deal"
    assert counts[deal] == 2


@pytest.mark.parametrize("lang, words", [
    ("en", ["deskflow report", "Customers by type", "Tickets by state", "Conversion rate",
            "25.0%", "SLA compliance", "deal: 2"]),
    ("zh", ["数据报表", "客户类型分布", "工单状态分布", "转化率", "25.0%", "已关闭", "成交: 2",
            "趋势", "新建工单趋势", "成交客户明细 (1)", "服务记录明细 (4)", "客户评价明细 (2)",
            "跟进记录明细 (4)", "Alpha Works"]),
])
def test_pdf_export_has_the_figures_and_charts(settled, lang, words):
    response = download(settled, "pdf", lang)
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].endswith('.pdf"')
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for word in words:
        assert word in text
