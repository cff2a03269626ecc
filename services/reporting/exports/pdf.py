"""The PDF report: tables and charts drawn with reportlab, set in an embedded CJK font
(:mod:`services.reporting.exports.fonts`). Detail tables hold every row, laid out a page
at a time from the rows' iterator (:class:`DetailRows`), so a long table is never held
whole; and the pages are laid out in parts of ``CHUNK_PAGES`` pages joined as they are
finished (:func:`render`), so neither are the pages."""
import io
from collections.abc import Iterator

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable, Paragraph, SimpleDocTemplate, Spacer, Table as PdfTable, TableStyle,
)

from services.reporting.exports import charts, formatting as fmt
from services.reporting.exports.document import Detail, Document
from services.reporting.exports.fonts import pdf_font
from services.reporting.exports.layout import CHARTS, Table
from services.reporting.exports.pdf_join import PdfJoiner

CHUNK_PAGES = 100  # pages laid out as one reportlab document before it is joined to the file
ROWS_TAKEN = 100  # detail rows taken from the iterator at a time: more than a page holds
DETAIL_FONT_SIZE = 7
CELL_CHARS = 40  # a detail cell longer than this is cut with an ellipsis


class Styles:
    def __init__(self, font: str):
        self.font = font
        self.title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24,
                                    spaceAfter=6)
        self.heading = ParagraphStyle("heading", fontName=font, fontSize=14, leading=18,
                                      spaceBefore=12, spaceAfter=6)
        self.subheading = ParagraphStyle("subheading", fontName=font, fontSize=11, leading=14,
                                         spaceBefore=6, spaceAfter=4)
        self.body = ParagraphStyle("body", fontName=font, fontSize=10, leading=13)
        self.note = ParagraphStyle("note", fontName=font, fontSize=8, leading=10,
                                   textColor=colors.HexColor("#555555"), spaceBefore=2)


def write_pdf(document: Document, out, chunk_pages: int = CHUNK_PAGES) -> None:
    labels = document.labels
    styles = Styles(pdf_font(document.options.font_file))
    report = document.report
    story = [Paragraph(labels.heading("title"), styles.title),
             Paragraph(f"{labels.heading('range')}: {report['range']['from']} – "
                       f"{report['range']['to']}", styles.body)]
    for section in document.sections:
        story.append(Paragraph(labels.heading(section.key), styles.heading))
        for table in section.tables:
            story += table_flowables(table, document, styles)
    if document.trends:
        story.append(Paragraph(labels.heading("trends"), styles.heading))
        for trend in document.trends:
            story += [Paragraph(labels.heading(trend.key), styles.subheading),
                      trend_chart(trend, styles)]
    for detail in document.details:
        story += detail_flowables(detail, document, styles)
    render(story, labels.heading("title"), out, styles.font, chunk_pages)


class _ChunkFull(Exception):
    """A part has its pages: the flowables not laid out yet go to the next part."""


class _Part(SimpleDocTemplate):
    """A document that stops before beginning page ``pages + 1``. The layout loop begins a
    page only between two flowables, so the story then holds exactly what is left (the rest
    of a split table first)."""

    def __init__(self, out, pages: int, **options):
        super().__init__(out, **options)
        self.pages = pages

    def handle_pageBegin(self):
        if self.page >= self.pages:
            raise _ChunkFull
        super().handle_pageBegin()


def render(story: list, title: str, out, font: str, chunk_pages: int = CHUNK_PAGES) -> None:
    """Lay out ``story`` on A4 pages, ``chunk_pages`` pages per reportlab document (which
    holds every page it has drawn until it is saved), each part joined to ``out`` as soon as
    it is saved, so memory does not grow with the length of the report. ``font`` is also
    the canvas's initial font, so no un-embedded standard font is referenced."""
    joiner, empty_pages = PdfJoiner(out), 0
    while story:
        part = io.BytesIO()
        document = _Part(part, chunk_pages, pagesize=A4, title=title, leftMargin=15 * mm,
                         rightMargin=15 * mm, initialFontName=font)
        # reportlab gives up (LayoutError) after 10 pages in a row without content: count
        # them across parts too, or a flowable too tall for any page would never end.
        document._emptyPages = empty_pages
        try:
            document.build(story)  # takes the flowables it lays out off the story
        except _ChunkFull:
            document.canv.save()
        empty_pages = document._emptyPages
        part.seek(0)
        joiner.append(part)
    joiner.close()


def table_flowables(table: Table, document: Document, styles: Styles) -> list:
    labels = document.labels
    data = [[labels.heading(key) for key in ("item",) + table.columns]]
    data += [[item, *(fmt.text(value, labels.lang) for value in values)]
             for item, values in table.rows]
    flowables = [Paragraph(labels.heading(table.key), styles.subheading),
                 grid(data, styles.font, 9)]
    kind = CHARTS.get(table.key)
    if kind is not None:
        names = [item for item, _ in table.rows]
        values = [values[0].value for _, values in table.rows]
        if kind == "pie" and not any(values):
            drawn = Paragraph(labels.heading("no_data"), styles.body)
        else:
            drawn = (charts.pie if kind == "pie" else charts.bars)(names, values, styles.font)
        flowables += [Spacer(1, 4 * mm), drawn]
    return flowables


def trend_chart(trend, styles: Styles):
    periods = [period for period, _ in trend.points]
    values = [figure.value for _, figure in trend.points]
    if not any(value is not None for value in values):
        return Paragraph("–", styles.body)
    kind = trend.points[0][1].kind
    if kind == "nps":
        values = [fmt.nps_points(value) for value in values]
    return charts.line(periods, values, styles.font)


def grid(data: list, font: str, size: float, widths: list | None = None) -> PdfTable:
    shown = PdfTable(data, hAlign="LEFT", repeatRows=1, colWidths=widths)
    shown.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), size),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
    ]))
    return shown


def _cut(text: str) -> str:
    """One line of at most CELL_CHARS characters."""
    text = " ".join(text.split())
    return text if len(text) <= CELL_CHARS else text[:CELL_CHARS - 1] + "…"


class DetailRows(Flowable):
    """A detail table drawn from an iterator of rows. Where it does not fit, it splits into
    the rows that fit (a table with the header) and a new ``DetailRows`` for the rest, so
    only a page's worth of rows is held at any time. Cells are one line, so every row has
    the height of the first (a taller one is split by reportlab's table as usual)."""

    def __init__(self, header: list, rows: Iterator[list], font: str, taken: list | None = None):
        super().__init__()
        self.header, self.rows, self.font = header, rows, font
        self.taken = taken or []  # rows read from the iterator, not yet laid out
        self.more = True
        self.table = None

    def _take(self) -> None:
        while self.more and len(self.taken) < ROWS_TAKEN:
            row = next(self.rows, None)
            if row is None:
                self.more = False
            else:
                self.taken.append(row)

    def _table(self, count: int) -> PdfTable:
        return grid([self.header, *self.taken[:count]], self.font, DETAIL_FONT_SIZE)

    def _fitting(self, available_width, available_height) -> int:
        """How many of the taken rows fit in ``available_height``."""
        _, one = self._table(1).wrap(available_width, available_height)
        _, two = self._table(2).wrap(available_width, available_height)
        row = max(two - one, 1)
        return min(len(self.taken), int((available_height - one) // row) + 1)

    def wrap(self, available_width, available_height):
        self._take()
        if self.more or self._fitting(available_width, available_height) < len(self.taken):
            return available_width, available_height + 1  # the frame then asks for a split
        self.table = self._table(len(self.taken))
        return self.table.wrap(available_width, available_height)

    def split(self, available_width, available_height):
        self._take()
        fitting = self._fitting(available_width, available_height)
        if fitting < 1:
            return []
        rest = DetailRows(self.header, self.rows, self.font, self.taken[fitting:])
        return [self._table(fitting), rest]

    def draw(self):
        self.table.drawOn(self.canv, 0, 0)


def detail_flowables(detail: Detail, document: Document, styles: Styles) -> list:
    labels = document.labels
    flowables = [Paragraph(f"{labels.heading(detail.key)} ({detail.total})", styles.heading)]
    if detail.total == 0:
        return flowables + [Paragraph(labels.heading("no_data"), styles.body)]
    header = [labels.heading(column) for column in detail.columns]
    rows = ([_cut(fmt.text(value, labels.lang)) for value in row] for row in detail.rows())
    return flowables + [DetailRows(header, rows, styles.font)]
