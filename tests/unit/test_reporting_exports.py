"""The export files, built in memory and opened with real readers: the csv module, openpyxl
(which reads the charts back) and pypdf."""
import csv
import io
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
    sections = ("overview", "customers", "followups", "tickets", "satisfaction", "sla",
                "times", "backlog")
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
