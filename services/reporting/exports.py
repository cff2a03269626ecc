"""The summary as a file: CSV (one figure a line), an Excel workbook (a sheet per section,
native charts) or a PDF report (tables and charts drawn with reportlab), with English or
Chinese headings. Every format is laid out from the same :func:`sections`."""
import csv
import io
import math
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.chart import BarChart, PieChart, Reference
from openpyxl.styles import Font
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table as PdfTable, TableStyle

from services.reporting.labels import Labels
from services.reporting.schemas import CONTENT_TYPES

# Which tables get a chart, and of which kind.
CHARTS = {"customers_by_type": "pie", "tickets_by_state": "bar",
          "tickets_by_service_type": "bar"}
CHINESE_FONT = "STSong-Light"  # reportlab's built-in CID font: needs no font file
PALETTE = (colors.HexColor("#4e79a7"), colors.HexColor("#f28e2b"), colors.HexColor("#e15759"),
           colors.HexColor("#76b7b2"), colors.HexColor("#59a14f"), colors.HexColor("#edc948"),
           colors.HexColor("#b07aa1"), colors.HexColor("#ff9da7"), colors.HexColor("#9c755f"))


@dataclass(frozen=True)
class Table:
    key: str              # heading key
    columns: tuple        # heading keys of the value columns
    rows: list            # [(item label, [value per column])]


@dataclass(frozen=True)
class Section:
    key: str
    tables: list


@dataclass(frozen=True)
class BuiltFile:
    filename: str
    content_type: str
    content: bytes


def build(report: dict, file_format: str, lang: str) -> BuiltFile:
    labels = Labels(lang)
    content = BUILDERS[file_format](report, sections(report, labels), labels)
    span = f"{report['range']['from']}_{report['range']['to']}"
    suffix = "-zh" if lang == "zh" else ""
    return BuiltFile(f"deskflow-report-{span}{suffix}.{file_format}",
                     CONTENT_TYPES[file_format], content)


# --- layout --------------------------------------------------------------------------------

def _counts_table(key: str, counts: dict, labels: Labels) -> Table:
    return Table(key, ("count",), [(labels.value(code), [n]) for code, n in counts.items()])


def _ratings_table(key: str, groups: dict, labels: Labels) -> Table:
    columns = ("count", "average", "csat", "nps")
    return Table(key, columns, [(labels.value(code), [figures[c] for c in columns])
                                for code, figures in groups.items()])


def sections(report: dict, labels: Labels) -> list[Section]:
    customers, followups, tickets = report["customers"], report["followups"], report["tickets"]
    satisfaction, backlog = report["satisfaction"], report["backlog"]
    overview = [
        ("from", report["range"]["from"]), ("to", report["range"]["to"]),
        ("total", customers["total"]), ("new", customers["new"]),
        ("converted", customers["converted"]), ("conversion_rate", customers["conversion_rate"]),
        ("followups_total", followups["total"]), ("success_rate", followups["success_rate"]),
        ("created", tickets["created"]), ("late_entries", tickets["late_entries"]),
        ("open", backlog["open"]),
        ("ratings", satisfaction["count"]), ("average", satisfaction["average"]),
        ("csat", satisfaction["csat"]), ("nps", satisfaction["nps"]),
    ]
    return [
        Section("overview", [Table("figures", ("value",),
                                   [(labels.heading(key), [value]) for key, value in overview])]),
        Section("customers", [_counts_table(f"customers_{name}", customers[name], labels)
                              for name in ("by_type", "by_grade", "by_industry", "by_source")]),
        Section("followups", [_counts_table("followups_by_outcome", followups["by_outcome"],
                                            labels)]),
        Section("tickets", [_counts_table(f"tickets_{name}", tickets[name], labels)
                            for name in ("by_state", "by_status_label", "by_service_type",
                                         "by_category", "by_priority", "by_channel",
                                         "by_department")]),
        Section("satisfaction", [
            _ratings_table("satisfaction_by_service_type", satisfaction["by_service_type"], labels),
            _ratings_table("satisfaction_by_customer_type", satisfaction["by_customer_type"],
                           labels)]),
        Section("sla", [Table("sla_compliance", ("met", "breached", "compliance"), [
            (labels.value(clock), [figures["met"], figures["breached"], figures["compliance"]])
            for clock, figures in report["sla"].items()])]),
        Section("times", [Table("time_quantiles", ("median", "p90"), [
            (labels.heading(name), [figures["median"], figures["p90"]])
            for name, figures in report["times"].items()])]),
        Section("backlog", [_counts_table("backlog_ageing", backlog["ageing"], labels)]),
    ]


def _shown(value) -> str:
    return "" if value is None else str(value)


# --- CSV -----------------------------------------------------------------------------------

def to_csv(report: dict, layout: list[Section], labels: Labels) -> bytes:
    """One figure a line: section, table, item, measure, value. UTF-8 with a byte-order
    mark, so spreadsheet programs show the Chinese headings."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([labels.heading(key) for key in ("section", "table", "item", "measure",
                                                     "value")])
    for section in layout:
        for table in section.tables:
            for item, values in table.rows:
                for column, value in zip(table.columns, values):
                    writer.writerow([labels.heading(section.key), labels.heading(table.key),
                                     item, labels.heading(column), _shown(value)])
    return text.getvalue().encode("utf-8-sig")


# --- Excel ---------------------------------------------------------------------------------

CHART_ROWS = 16  # rows an Excel chart covers at its default size


def to_xlsx(report: dict, layout: list[Section], labels: Labels) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for section in layout:
        sheet = workbook.create_sheet(labels.heading(section.key)[:31])
        sheet.column_dimensions["A"].width = 28
        row = 1
        for table in section.tables:
            row = _write_table(sheet, row, table, labels) + 2
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_table(sheet, top: int, table: Table, labels: Labels) -> int:
    """Write ``table`` from row ``top``; return the last row used (chart included)."""
    sheet.cell(top, 1, labels.heading(table.key)).font = Font(bold=True)
    header = top + 1
    for column, key in enumerate(("item",) + table.columns, start=1):
        sheet.cell(header, column, labels.heading(key)).font = Font(bold=True)
    for offset, (item, values) in enumerate(table.rows, start=1):
        sheet.cell(header + offset, 1, item)
        for column, value in enumerate(values, start=2):
            sheet.cell(header + offset, column, value)
    last = header + len(table.rows)
    kind = CHARTS.get(table.key)
    if kind is None:
        return last
    chart = PieChart() if kind == "pie" else BarChart()
    chart.title = labels.heading(table.key)
    chart.add_data(Reference(sheet, min_col=2, min_row=header, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=header + 1, max_row=last))
    sheet.add_chart(chart, f"E{top}")
    return max(last, top + CHART_ROWS)


# --- PDF -----------------------------------------------------------------------------------

def _fonts(labels: Labels) -> tuple[str, str]:
    """(regular, bold) font names; Chinese text needs the CID font, which has no bold."""
    if labels.lang != "zh":
        return "Helvetica", "Helvetica-Bold"
    if CHINESE_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CHINESE_FONT))
    return CHINESE_FONT, CHINESE_FONT


def to_pdf(report: dict, layout: list[Section], labels: Labels) -> bytes:
    regular, bold = _fonts(labels)
    title = ParagraphStyle("title", fontName=bold, fontSize=18, leading=24, spaceAfter=6)
    heading = ParagraphStyle("heading", fontName=bold, fontSize=14, leading=18, spaceBefore=12,
                             spaceAfter=6)
    subheading = ParagraphStyle("subheading", fontName=bold, fontSize=11, leading=14,
                                spaceBefore=6, spaceAfter=4)
    body = ParagraphStyle("body", fontName=regular, fontSize=10, leading=13)
    story = [Paragraph(labels.heading("title"), title),
             Paragraph(f"{labels.heading('range')}: {report['range']['from']} – "
                       f"{report['range']['to']}", body)]
    for section in layout:
        story.append(Paragraph(labels.heading(section.key), heading))
        for table in section.tables:
            story.append(Paragraph(labels.heading(table.key), subheading))
            story.append(_pdf_table(table, labels, regular, bold))
            kind = CHARTS.get(table.key)
            if kind is not None:
                story += [Spacer(1, 4 * mm), _chart(kind, table, regular, labels, body)]
    buffer = io.BytesIO()
    SimpleDocTemplate(buffer, pagesize=A4, title=labels.heading("title"),
                      leftMargin=18 * mm, rightMargin=18 * mm).build(story)
    return buffer.getvalue()


def _pdf_table(table: Table, labels: Labels, regular: str, bold: str) -> PdfTable:
    data = [[labels.heading(key) for key in ("item",) + table.columns]]
    data += [[item, *(_shown(value) for value in values)] for item, values in table.rows]
    shown = PdfTable(data, hAlign="LEFT")
    shown.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), regular), ("FONTNAME", (0, 0), (-1, 0), bold),
        ("FONTSIZE", (0, 0), (-1, -1), 9), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
    ]))
    return shown


def _chart(kind: str, table: Table, font: str, labels: Labels, body: ParagraphStyle):
    names = [item for item, _ in table.rows]
    values = [values[0] for _, values in table.rows]
    if kind == "pie" and not any(values):
        return Paragraph(labels.heading("no_data"), body)
    return _pie(names, values, font) if kind == "pie" else _bars(names, values, font)


def _pie(names: list, values: list, font: str) -> Drawing:
    drawing = Drawing(420, 170)
    pie = Pie()
    pie.x, pie.y, pie.width, pie.height = 10, 10, 150, 150
    pie.data = values
    pie.slices.strokeColor = colors.white
    for index in range(len(values)):
        pie.slices[index].fillColor = PALETTE[index % len(PALETTE)]
    legend = Legend()
    legend.x, legend.y, legend.alignment = 200, 140, "right"
    legend.fontName, legend.fontSize = font, 9
    legend.colorNamePairs = [(PALETTE[index % len(PALETTE)], f"{name}: {value}")
                             for index, (name, value) in enumerate(zip(names, values))]
    drawing.add(pie)
    drawing.add(legend)
    return drawing


def _bars(names: list, values: list, font: str) -> Drawing:
    drawing = Drawing(420, 190)
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 30, 360, 140
    chart.data = [values]
    chart.bars[0].fillColor = PALETTE[0]
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = max(1, max(values, default=0))
    chart.valueAxis.valueStep = max(1, math.ceil(chart.valueAxis.valueMax / 5))
    chart.valueAxis.labels.fontName = font
    chart.categoryAxis.categoryNames = names
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 8
    drawing.add(chart)
    return drawing


BUILDERS = {"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}
