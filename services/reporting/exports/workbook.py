"""The Excel workbook: a sheet per summary section with native pie and bar charts, a sheet of
trends with native line charts, and a sheet per detail table. Written with openpyxl's
write-only workbook, so a detail sheet of 200,000 rows streams to the file row by row."""
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, PieChart, Reference
from openpyxl.styles import Font

from services.reporting.exports import formatting as fmt
from services.reporting.exports.document import Document
from services.reporting.exports.layout import CHARTS, Table

CHART_ROWS = 16  # rows an Excel chart covers at its default size
BOLD = Font(bold=True)


class _Sheet:
    """A write-only sheet that counts its rows, so charts can point at what was written."""

    def __init__(self, workbook, title: str, lang: str):
        self.sheet = workbook.create_sheet(title[:31])
        self.lang = lang
        self.row = 0

    def append(self, values: list, bold: bool = False) -> int:
        cells = []
        for value in values:
            shown, number_format = fmt.cell(value, self.lang)
            if not number_format and not bold:
                cells.append(shown)  # a plain value: no cell object to make
                continue
            cell = WriteOnlyCell(self.sheet, shown)
            if number_format:
                cell.number_format = number_format
            if bold:
                cell.font = BOLD
            cells.append(cell)
        self.sheet.append(cells)
        self.row += 1
        return self.row

    def skip_to(self, row: int) -> None:
        while self.row < row:
            self.sheet.append([])
            self.row += 1


def write_xlsx(document: Document, out) -> None:
    labels, lang = document.labels, document.labels.lang
    workbook = Workbook(write_only=True)
    for section in document.sections:
        sheet = _Sheet(workbook, labels.heading(section.key), lang)
        sheet.sheet.column_dimensions["A"].width = 28
        for table in section.tables:
            _write_table(sheet, table, document)
            sheet.skip_to(sheet.row + 2)
    if document.trends:
        _write_trends(_Sheet(workbook, labels.heading("trends"), lang), document)
    for detail in document.details:
        sheet = _Sheet(workbook, labels.heading(detail.key), lang)
        sheet.append([labels.heading(column) for column in detail.columns], bold=True)
        for row in detail.rows():
            sheet.append(row)
    workbook.save(out)


def _write_table(sheet: _Sheet, table: Table, document: Document) -> None:
    labels = document.labels
    top = sheet.append([labels.heading(table.key)], bold=True)
    header = sheet.append([labels.heading(key) for key in ("item",) + table.columns], bold=True)
    for item, values in table.rows:
        sheet.append([item, *values])
    last = sheet.row
    kind = CHARTS.get(table.key)
    if kind is None:
        return
    chart = PieChart() if kind == "pie" else BarChart()
    chart.title = labels.heading(table.key)
    chart.add_data(Reference(sheet.sheet, min_col=2, min_row=header, max_row=last),
                   titles_from_data=True)
    chart.set_categories(Reference(sheet.sheet, min_col=1, min_row=header + 1, max_row=last))
    sheet.sheet.add_chart(chart, f"E{top}")
    sheet.skip_to(top + CHART_ROWS)


def _write_trends(sheet: _Sheet, document: Document) -> None:
    labels = document.labels
    sheet.sheet.column_dimensions["A"].width = 16
    for trend in document.trends:
        top = sheet.append([labels.heading(trend.key)], bold=True)
        header = sheet.append([labels.heading(trend.interval), labels.heading("value")],
                              bold=True)
        for period, value in trend.points:
            sheet.append([period, value])
        last = sheet.row
        chart = LineChart()
        chart.title = labels.heading(trend.key)
        chart.legend = None
        if last > header:
            chart.add_data(Reference(sheet.sheet, min_col=2, min_row=header, max_row=last),
                           titles_from_data=True)
            chart.set_categories(Reference(sheet.sheet, min_col=1, min_row=header + 1,
                                           max_row=last))
        sheet.sheet.add_chart(chart, f"D{top}")
        sheet.skip_to(top + CHART_ROWS + 1)
