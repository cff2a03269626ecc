"""The export files, built in memory and opened with real readers: the csv module, openpyxl
(which reads the charts back) and pypdf."""
import csv
import io
import re
from datetime import date

import openpyxl
import pypdf
import pytest
from openpyxl.chart import BarChart, PieChart

from services.reporting import domain, exports, summary
from services.reporting.labels import HEADINGS, VALUES_ZH, Labels

COUNTS = {("tickets.created", "all", "all"): 3, ("followups", "outcome", "positive"): 2,
          ("ratings.count", "all", "all"): 1, ("ratings.score_sum", "all", "all"): 4,
          ("ratings.count", "service_type", "aftersales"): 1,
          ("ratings.score_sum", "service_type", "aftersales"): 4,
          ("sla.met", "clock", "first_response"): 3}
CURRENT = {("customer.type", "prospect"): 2, ("customer.type", "deal"): 1,
           ("ticket.state", "pending"): 2, ("ticket.state", "closed"): 1}


def report(current=None, counts=None) -> dict:
    return summary.summarise(summary.Figures(
        start=date(2026, 11, 1), end=date(2026, 11, 30), current=current or {},
        counts=counts or {}, pre_deal_at_start=0,
        durations={"first_response": [(60, 2), (300, 1)]}, ageing={"0-1d": 2}))


def test_every_code_and_heading_has_a_chinese_label():
    vocabularies = (domain.CUSTOMER_TYPES, domain.GRADES, domain.INDUSTRIES, domain.SOURCES,
                    domain.OUTCOMES, domain.TICKET_STATES, domain.SERVICE_TYPES,
                    domain.CATEGORIES, domain.PRIORITIES, domain.CLOCKS,
                    domain.STATUS_LABELS, domain.CHANNELS,
                    (domain.NO_SOURCE, domain.UNKNOWN), [label for label, _, _ in domain.AGEING])
    for vocabulary in vocabularies:
        for code in vocabulary:
            assert code in VALUES_ZH, code
    assert all(chinese and chinese != english for english, chinese in HEADINGS.values())


def test_csv_has_one_figure_a_line():
    built = exports.build(report(CURRENT, COUNTS), "csv", "en")
    assert built.filename == "deskflow-report-2026-11-01_2026-11-30.csv"
    assert built.content_type == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(built.content.decode("utf-8-sig"))))
    assert rows[0] == ["Section", "Table", "Item", "Measure", "Value"]
    assert ["Customers", "Customers by type", "prospect", "Count", "2"] in rows
    assert ["Satisfaction", "Satisfaction by service type", "aftersales", "Average score",
            "4.00"] in rows
    assert ["Satisfaction", "Satisfaction by service type", "presales", "CSAT", ""] in rows
    assert ["Response times", "Time to first response and resolution",
            "First response", "Median", "1 min"] in rows
    assert ["Overview", "Figures", "Tickets created", "Value", "3"] in rows


def test_csv_in_chinese():
    built = exports.build(report(CURRENT, COUNTS), "csv", "zh")
    assert built.filename.endswith("-zh.csv") and built.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(built.content.decode("utf-8-sig"))))
    assert rows[0] == ["部分", "表", "项目", "指标", "数值"]
    assert ["客户", "客户类型分布", "潜在", "数量", "2"] in rows


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbook_has_a_sheet_per_section_with_native_charts(lang):
    labels = Labels(lang)
    workbook = openpyxl.load_workbook(io.BytesIO(exports.build(report(CURRENT, COUNTS), "xlsx",
                                                               lang).content))
    sections = ("overview", "customers", "revenue", "followups", "tickets", "feedback",
                "satisfaction", "sla", "times", "backlog")
    assert workbook.sheetnames == [labels.heading(key) for key in sections]
    pies = workbook[labels.heading("customers")]._charts
    bars = workbook[labels.heading("tickets")]._charts
    assert [type(chart) for chart in pies] == [PieChart]
    assert [type(chart) for chart in bars] == [BarChart, BarChart]
    # The pie reads the by-type counts from the sheet itself.
    sheet = workbook[labels.heading("customers")]
    reference = pies[0].series[0].val.numRef.f
    cells = sheet[reference.split("!")[1].replace("$", "")]
    assert [row[0].value for row in cells] == [2, 0, 1, 0]


@pytest.mark.parametrize("lang, words", [
    ("en", ["deskflow report", "Range: 2026-11-01", "Customers by type", "prospect: 2",
            "Tickets by state", "SLA compliance", "Median"]),
    ("zh", ["deskflow 数据报表", "统计区间", "客户类型分布", "潜在: 2", "工单状态分布",
            "待处理", "中位数"]),
])
def test_pdf_has_tables_and_charts_with_readable_text(lang, words):
    built = exports.build(report(CURRENT, COUNTS), "pdf", lang)
    assert built.content_type == "application/pdf"
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(built.content)).pages)
    for word in words:
        assert word in text


def test_an_empty_range_still_makes_every_file():
    empty = report()
    for file_format in ("csv", "xlsx", "pdf"):
        assert exports.build(empty, file_format, "en").content
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(
        io.BytesIO(exports.build(empty, "pdf", "en").content)).pages)
    assert "No data" in text  # an empty pie is not drawn


def test_the_forms_states_and_channels_use_the_forms_chinese_words():
    current = {**CURRENT, ("ticket.status_label", "awaiting_customer"): 1,
               ("ticket.status_label", "unresolvable"): 2}
    counts = {**COUNTS, ("tickets.created", "channel", "phone"): 3,
              ("tickets.created", "department", "售后服务部"): 3,
              ("tickets.late_entry", "all", "all"): 1}
    built = exports.build(report(current, counts), "csv", "zh")
    rows = list(csv.reader(io.StringIO(built.content.decode("utf-8-sig"))))
    assert ["服务记录", "当前处理状态分布", "待跟进", "数量", "1"] in rows
    assert ["服务记录", "当前处理状态分布", "无法解决", "数量", "2"] in rows
    assert ["服务记录", "反馈渠道分布", "电话", "数量", "3"] in rows
    assert ["服务记录", "责任部门分布", "售后服务部", "数量", "3"] in rows
    assert ["概览", "主要指标", "超 24 小时录入", "数值", "1"] in rows


def test_amounts_read_with_separators_and_their_currency():
    counts = {**COUNTS, ("revenue.cents", "all", "all"): 123456789,
              ("revenue.deals", "all", "all"): 2,
              ("revenue.cents", "customer_type", "deal"): 123456789}
    built = exports.build(report(CURRENT, counts), "csv", "zh", options=exports.Options("USD"))
    rows = list(csv.reader(io.StringIO(built.content.decode("utf-8-sig"))))
    assert ["销售额贡献", "销售额", "签约金额", "数值", "USD 1,234,567.89"] in rows
    assert ["销售额贡献", "各客户类型销售额", "成交", "金额", "USD 1,234,567.89"] in rows


def test_rates_read_as_percentages_and_nps_as_points():
    counts = {**COUNTS, ("customers.converted", "all", "all"): 1,
              ("pre_deal.entered", "all", "all"): 47,
              ("ratings.nps_count", "all", "all"): 25, ("ratings.promoters", "all", "all"): 11,
              ("ratings.detractors", "all", "all"): 10}
    rows = list(csv.reader(io.StringIO(exports.build(report(CURRENT, counts), "csv", "en")
                                       .content.decode("utf-8-sig"))))
    assert ["Overview", "Figures", "Conversion rate", "Value", "2.1%"] in rows
    assert ["Overview", "Figures", "NPS", "Value", "4"] in rows
    assert ["Overview", "Figures", "CSAT", "Value", "0.0%"] in rows
    workbook = openpyxl.load_workbook(io.BytesIO(exports.build(report(CURRENT, counts), "xlsx",
                                                               "en").content))
    nps = next(row for row in workbook["Overview"].iter_rows() if row[0].value == "NPS")
    assert (nps[1].value, nps[1].number_format) == (4, "0")
    rate = next(row for row in workbook["Overview"].iter_rows()
                if row[0].value == "Conversion rate")
    assert (rate[1].value, rate[1].number_format) == (0.0213, "0.0%")


# --- line charts and detail rows (issue 13, item 3) ----------------------------------------

def outline(rows_per_table: dict) -> dict:
    weeks = ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    return {"report": report(CURRENT, COUNTS),
            "trends": [{"key": "trend_tickets_created", "interval": "week", "kind": "count",
                        "points": [[week, n] for week, n in zip(weeks, [1, 0, 2, 0, 0])]},
                       {"key": "trend_revenue", "interval": "week", "kind": "money",
                        "points": [[week, 0.0] for week in weeks[:-1]] + [[weeks[-1], 1.5e6]]},
                       {"key": "trend_satisfaction", "interval": "week", "kind": "score",
                        "points": [[week, None] for week in weeks[:-1]] + [[weeks[-1], 4.0]]}],
            "details": dict(rows_per_table)}


def sample_row(table: str, n: int) -> list:
    samples = {
        "detail_converted": ["2026-11-20", f"2026-TECH-{n:03d}", f"客户 {n}", "TECH", "li",
                             1500000.0, "ERP", "2026-11-20"],
        "detail_tickets": ["2026-11-20T08:30:00+00:00", f"T-{n}", "2026-TECH-001", "卡顿",
                           "aftersales", "complaint", "high", "wang", "done", "met",
                           "breached"],
        "detail_ratings": ["2026-11-21T09:00:00+00:00", f"T-{n}", "2026-TECH-001",
                           "aftersales", 4, 4, 3, 5, 9, "yes", "响应速度需提升", "survey",
                           None],
        "detail_followups": ["2026-11-22T10:00:00+00:00", n, "2026-TECH-001", "phone",
                             "合同条款确认", "positive", "li", "同意方案", "寄送合同"],
    }
    return samples[table]


def paged(totals: dict, page_size: int = 7):
    """A fetch function paging ``totals[table]`` sample rows, ``page_size`` at a time."""
    fetched = []

    def fetch(table, after):
        start = after[1] if after else 0
        count = min(page_size, totals[table] - start)
        fetched.append((table, start))
        last = start + count
        return {"rows": [sample_row(table, n) for n in range(start, last)],
                "after": ["x", last] if last < totals[table] else None}
    return fetch, fetched


TOTALS = {"detail_converted": 3, "detail_tickets": 20, "detail_ratings": 2,
          "detail_followups": 1}


def full_document(lang: str, totals=TOTALS):
    from services.reporting.exports.paging import document_of
    fetch, fetched = paged(totals)
    return document_of(outline(totals), lang, fetch, exports.Options()), fetched


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbook_has_line_charts_of_the_trends_and_every_detail_row(lang):
    from openpyxl.chart import LineChart
    labels = Labels(lang)
    document, fetched = full_document(lang)
    buffer = io.BytesIO()
    exports.write(document, "xlsx", buffer)
    workbook = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    lines = workbook[labels.heading("trends")]._charts
    assert [type(chart) for chart in lines] == [LineChart] * 3
    revenue = workbook[labels.heading("trends")]
    reference = lines[1].series[0].val.numRef.f.split("!")[1].replace("$", "")
    assert [row[0].value for row in revenue[reference]] == [0, 0, 0, 0, 1500000]
    assert [row[0].number_format for row in revenue[reference]][-1] == '#,##0.00 "CNY"'
    for table, total in TOTALS.items():
        sheet = workbook[labels.heading(table)]
        assert sheet.max_row == 1 + total  # the headings, then one line per row
    tickets = workbook[labels.heading("detail_tickets")]
    assert [cell.value for cell in tickets[1]][-2:] == [labels.heading("col_first_response"),
                                                       labels.heading("col_resolution")]
    assert [cell.value for cell in tickets[2]][-2:] == [labels.value("met"),
                                                       labels.value("breached")]
    assert fetched.count(("detail_tickets", 14)) == 1  # 20 rows came in pages of 7


def test_csv_gets_the_trends_and_detail_rows_as_further_sections():
    document, _ = full_document("zh")
    rows = list(csv.reader(io.StringIO(b"".join(
        exports.csv_file.csv_chunks(document)).decode("utf-8-sig"))))
    heading = rows.index(["服务记录明细", "20"])
    assert rows[heading + 1][:4] == ["服务时间", "编号", "客户编号", "服务内容"]
    assert len(rows[heading + 2: heading + 22]) == 20 and rows[heading + 22] == []
    assert rows[heading + 2][-2:] == ["达标", "超时"]
    converted = rows.index(["成交客户明细", "3"])
    assert rows[converted + 2][5] == "CNY 1,500,000.00"
    assert ["2026-11-23", "CNY 1,500,000.00"] in rows
    assert ["2026-11-16", ""] in rows  # a week without ratings has no average


def test_pdf_has_line_charts_and_every_detail_row_over_many_pages():
    totals = {**TOTALS, "detail_tickets": 520}  # many pages of one detail table
    document, fetched = full_document("zh", totals)
    buffer = io.BytesIO()
    exports.write(document, "pdf", buffer)
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(
        io.BytesIO(buffer.getvalue())).pages)
    for words in ("趋势", "新建工单趋势", "销售额趋势", "满意度趋势", "成交客户明细 (3)",
                  "服务记录明细 (520)", "客户评价明细", "跟进记录明细", "响应速度需提升"):
        assert words in text
    tickets = sorted(int(number) for number in re.findall(r"\bT-(\d+)\b", text))
    ratings = 2
    assert tickets == sorted([*range(520), *range(ratings)])  # each row once, in order of pages
    assert fetched.count(("detail_tickets", 518)) == 1  # read page by page, once


def test_pdf_laid_out_in_parts_holds_every_detail_row_once_in_order():
    """A long PDF is laid out a few pages per reportlab document, each joined to the file as
    it is finished: the same pages as one document, every row once and in order, and each
    part's font subsets named apart from the others'."""
    from services.reporting.exports.pdf import write_pdf
    totals = {**TOTALS, "detail_tickets": 520}
    readers = {}
    for chunk_pages in (1000, 2):
        document, fetched = full_document("zh", totals)
        buffer = io.BytesIO()
        write_pdf(document, buffer, chunk_pages=chunk_pages)
        readers[chunk_pages] = pypdf.PdfReader(io.BytesIO(buffer.getvalue()))
        assert fetched.count(("detail_tickets", 518)) == 1
    whole, parts = readers[1000], readers[2]
    texts = [page.extract_text() for page in parts.pages]
    assert len(texts) > 10
    assert texts == [page.extract_text() for page in whole.pages]
    tickets = [int(number) for number in re.findall(r"\bT-(\d+)\b", "\n".join(texts))]
    assert tickets == [*range(520), 0, 1]  # the tickets' rows, then the two ratings'
    assert sum("服务记录明细 (520)" in text for text in texts) == 1
    fonts = {}
    for page in parts.pages:
        for reference in page["/Resources"]["/Font"].values():
            fonts[reference.indirect_reference.idnum] = reference.get_object()["/BaseFont"]
    assert len(fonts) > len(texts) // 2  # every part has its own subsets ...
    assert len(set(fonts.values())) == len(fonts)  # ... each with its own name


def test_pdf_parts_still_refuse_a_flowable_too_tall_for_any_page():
    from reportlab.platypus import Flowable
    from reportlab.platypus.doctemplate import LayoutError

    from services.reporting.exports.fonts import pdf_font
    from services.reporting.exports.pdf import render

    class Tall(Flowable):
        def wrap(self, available_width, available_height):
            return available_width, 10 * available_height

    with pytest.raises(LayoutError):
        render([Tall()], "tall", io.BytesIO(), pdf_font(), chunk_pages=1)
