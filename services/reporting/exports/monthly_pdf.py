"""The monthly feedback report (客户反馈分析报告) as a PDF: NPS and satisfaction by service type
and by customer type, the most frequent problems, the suggestions and comments received,
SLA compliance and late entries, each beside the month before."""
import io
from dataclasses import dataclass

from reportlab.platypus import Paragraph

from services.reporting.exports import formatting as fmt
from services.reporting.exports.fonts import pdf_font
from services.reporting.exports.pdf import Styles, grid, render
from services.reporting.labels import Labels

LISTED_TEXTS = 200  # suggestions and comments listed in full; past this, a note says how many


@dataclass(frozen=True)
class MonthlyFigures:
    month: str               # YYYY-MM
    previous_month: str
    report: dict             # the summary of the month
    previous: dict           # the summary of the month before
    comments: list           # [(at, ticket_id, customer_id, service_type, score, comment)]
    suggestions: list        # [(created_at, ticket_id, customer_id, title)]
    comments_total: int
    suggestions_total: int


def _compare(labels: Labels, figures: MonthlyFigures, rows: list) -> list:
    """A table of (label, this month, the month before) with the change's column heads."""
    data = [[labels.heading("item"), figures.month, figures.previous_month]]
    return data + [[label, fmt.text(this, labels.lang), fmt.text(before, labels.lang)]
                   for label, this, before in rows]


def _satisfaction_rows(labels, this: dict, before: dict) -> list:
    data = [[labels.heading("item"), labels.heading("count"), labels.heading("average"),
             labels.heading("csat"), labels.heading("nps"), labels.heading("nps_before")]]
    for code, figures in this.items():
        previous = before.get(code, {})
        data.append([labels.value(code), fmt.text(fmt.count(figures["count"])),
                     fmt.text(fmt.score(figures["average"])), fmt.text(fmt.rate(figures["csat"])),
                     fmt.text(fmt.nps(figures["nps"])),
                     fmt.text(fmt.nps(previous.get("nps")))])
    return data


def _texts(rows: list, total: int, labels: Labels, styles: Styles, columns: tuple) -> list:
    if not rows:
        return [Paragraph(labels.heading("no_data"), styles.body)]
    data = [[labels.heading(column) for column in columns]]
    for row in rows:
        *fields, text = row
        data.append([fmt.text(fmt.plain(value), labels.lang) for value in fields]
                    + [Paragraph(_escape(text or ""), styles.note)])
    flowables = [grid(data, styles.font, 8, widths=[None] * (len(columns) - 1) + [250])]
    if total > len(rows):
        flowables.append(Paragraph(labels.heading("texts_capped").format(
            shown=len(rows), total=total), styles.note))
    return flowables


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_monthly_pdf(figures: MonthlyFigures, out, lang: str = "zh",
                      font_file: str | None = None) -> None:
    labels = Labels(lang)
    styles = Styles(pdf_font(font_file))
    this, before = figures.report, figures.previous
    heading = lambda key: Paragraph(labels.heading(key), styles.heading)  # noqa: E731
    story = [Paragraph(f"{labels.heading('monthly_title')}（{figures.month}）", styles.title),
             Paragraph(f"{labels.heading('range')}: {this['range']['from']} – "
                       f"{this['range']['to']}; {labels.heading('compared_with')} "
                       f"{figures.previous_month}", styles.body)]

    story += [heading("overview"), grid(_compare(labels, figures, [
        (labels.heading("created"), fmt.count(this["tickets"]["created"]),
         fmt.count(before["tickets"]["created"])),
        (labels.heading("ratings"), fmt.count(this["satisfaction"]["count"]),
         fmt.count(before["satisfaction"]["count"])),
        (labels.heading("average"), fmt.score(this["satisfaction"]["average"]),
         fmt.score(before["satisfaction"]["average"])),
        (labels.heading("csat"), fmt.rate(this["satisfaction"]["csat"]),
         fmt.rate(before["satisfaction"]["csat"])),
        (labels.heading("nps"), fmt.nps(this["satisfaction"]["nps"]),
         fmt.nps(before["satisfaction"]["nps"])),
        (labels.heading("late_entries"), fmt.count(this["tickets"]["late_entries"]),
         fmt.count(before["tickets"]["late_entries"])),
    ]), styles.font, 9)]

    story.append(heading("satisfaction_by_service_type"))
    story.append(grid(_satisfaction_rows(labels, this["satisfaction"]["by_service_type"],
                                         before["satisfaction"]["by_service_type"]),
                      styles.font, 9))
    story.append(heading("satisfaction_by_customer_type"))
    story.append(grid(_satisfaction_rows(labels, this["satisfaction"]["by_customer_type"],
                                         before["satisfaction"]["by_customer_type"]),
                      styles.font, 9))

    story.append(heading("top_categories"))
    top = (this.get("feedback") or {}).get("top_categories")
    if top:
        story.append(grid([[labels.heading("col_category"), labels.heading("service_type"),
                            labels.heading("count")]] +
                          [[labels.value(pair["category"]), labels.value(pair["service_type"]),
                            str(pair["count"])] for pair in top], styles.font, 9))
    story.append(Paragraph(labels.heading("tickets_by_category"), styles.subheading))
    story.append(grid(_compare(labels, figures, [
        (labels.value(code), fmt.count(n), fmt.count(before["tickets"]["by_category"].get(code)))
        for code, n in this["tickets"]["by_category"].items()]), styles.font, 9))

    story.append(heading("suggestions"))
    story += _texts(figures.suggestions, figures.suggestions_total, labels, styles,
                    ("col_created_at", "col_id", "col_customer_id", "col_title"))
    story.append(heading("comments"))
    story += _texts(figures.comments, figures.comments_total, labels, styles,
                    ("col_at", "col_ticket_id", "col_customer_id", "col_service_type",
                     "col_score", "col_comment"))

    story.append(heading("sla_compliance"))
    story.append(grid(_compare(labels, figures, [
        (labels.value(clock), fmt.rate(clock_figures["compliance"]),
         fmt.rate(before["sla"][clock]["compliance"]))
        for clock, clock_figures in this["sla"].items()]), styles.font, 9))
    story.append(Paragraph(labels.heading("late_entries"), styles.subheading))
    story.append(grid(_compare(labels, figures, [
        (labels.heading("late_entries"), fmt.count(this["tickets"]["late_entries"]),
         fmt.count(before["tickets"]["late_entries"]))]), styles.font, 9))
    render(story, labels.heading("monthly_title"), out, styles.font)


def monthly_pdf(figures: MonthlyFigures, lang: str = "zh", font_file: str | None = None) -> bytes:
    buffer = io.BytesIO()
    write_monthly_pdf(figures, buffer, lang, font_file)
    return buffer.getvalue()
