"""The CSV file: one figure a line (section, table, item, measure, value), then each detail
table as a further section (its heading, its column headings, its rows). UTF-8 with a
byte-order mark, so spreadsheet programs show the Chinese headings."""
import csv
import io

from services.reporting.exports import formatting as fmt
from services.reporting.exports.document import Document


def write_csv(document: Document, out) -> None:
    labels, lang = document.labels, document.labels.lang
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    writer = csv.writer(text)
    writer.writerow([labels.heading(key) for key in ("section", "table", "item", "measure",
                                                     "value")])
    for section in document.sections:
        for table in section.tables:
            for item, values in table.rows:
                for column, value in zip(table.columns, values):
                    writer.writerow([labels.heading(section.key), labels.heading(table.key),
                                     item, labels.heading(column), fmt.text(value, lang)])
    for trend in document.trends:
        writer.writerow([])
        writer.writerow([labels.heading(trend.key)])
        writer.writerow([labels.heading(trend.interval), labels.heading("value")])
        writer.writerows([period, fmt.text(value, lang)] for period, value in trend.points)
    for detail in document.details:
        writer.writerow([])
        writer.writerow([labels.heading(detail.key), detail.total])
        writer.writerow([labels.heading(column) for column in detail.columns])
        for row in detail.rows():
            writer.writerow([fmt.text(value, lang) for value in row])
    text.flush()
    text.detach()
