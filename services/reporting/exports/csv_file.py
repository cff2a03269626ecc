"""The CSV file: one figure a line (section, table, item, measure, value), then the trends
and each detail table as further sections (a heading line, the column headings, the rows).
UTF-8 with a byte-order mark, so spreadsheet programs show the Chinese headings. Produced in
chunks, so a response can stream it while the detail rows are still being read."""
import codecs
import csv
import io

from services.reporting.exports import formatting as fmt
from services.reporting.exports.document import Document

CHUNK_CHARS = 64 * 1024


def _lines(document: Document):
    labels, lang = document.labels, document.labels.lang
    yield [labels.heading(key) for key in ("section", "table", "item", "measure", "value")]
    for section in document.sections:
        for table in section.tables:
            for item, values in table.rows:
                for column, value in zip(table.columns, values):
                    yield [labels.heading(section.key), labels.heading(table.key), item,
                           labels.heading(column), fmt.text(value, lang)]
    for trend in document.trends:
        yield []
        yield [labels.heading(trend.key)]
        yield [labels.heading(trend.interval), labels.heading("value")]
        for period, value in trend.points:
            yield [period, fmt.text(value, lang)]
    for detail in document.details:
        yield []
        yield [labels.heading(detail.key), detail.total]
        yield [labels.heading(column) for column in detail.columns]
        for row in detail.rows():
            yield [fmt.text(value, lang) for value in row]


def csv_chunks(document: Document):
    """The file as byte chunks of about 64 KiB."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    yield codecs.BOM_UTF8
    for line in _lines(document):
        writer.writerow(line)
        if buffer.tell() >= CHUNK_CHARS:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_csv(document: Document, out) -> None:
    for chunk in csv_chunks(document):
        out.write(chunk)
