"""Export use cases over the reporting database: an export's outline, its detail rows page
by page, and a whole file in one answer."""
import base64
import io
from datetime import date, datetime

from services.common.errors import ValidationFailed
from services.reporting import detail_store, exports, trend_lines
from services.reporting.exports.details import DETAIL_COLUMNS, DETAIL_TABLES, to_json
from services.reporting.exports.paging import document_of
from services.reporting.schemas import CONTENT_TYPES

PAGE_ROWS = 1000


def _range(report: dict) -> tuple[date, date]:
    return (date.fromisoformat(report["range"]["from"]),
            date.fromisoformat(report["range"]["to"]))


def outline(session, report: dict) -> dict:
    start, end = _range(report)
    return {"report": report, "trends": trend_lines.series(session, start, end),
            "details": {table: detail_store.count(session, table, start, end)
                        for table in DETAIL_TABLES}}


def _after(table: str, after):
    """A keyset position from its JSON form: (range value, key)."""
    if after is None:
        return None
    kind = DETAIL_COLUMNS[table][0][1]
    value, key = after
    if not isinstance(key, int if table == "detail_followups" else str):
        raise ValidationFailed("'after' is not a position this table returned.",
                               {"after": after})
    try:
        value = date.fromisoformat(value) if kind == "day" else datetime.fromisoformat(value)
        if kind != "day" and value.tzinfo is None:
            raise ValueError("a moment without its UTC offset")
    except (TypeError, ValueError):
        raise ValidationFailed("'after' is not a position this table returned.",
                               {"after": after}) from None
    return value, key


def rows(session, table: str, start: date, end: date, after, limit: int) -> dict:
    found = detail_store.page(session, table, start, end, _after(table, after), limit + 1)
    found, more = found[:limit], len(found) > limit
    last = detail_store.position(table, found[-1]) if more else None
    return {"rows": [[to_json(value) for value in row] for row in found],
            "after": [to_json(value) for value in last] if last else None}


def build_file(session, report: dict, wanted: dict, settings) -> dict:
    """The whole file as ``{filename, content_type, content}`` (base64), every detail row
    in this one answer: for small ranges and tools; the gateway writes its files itself,
    page by page, instead."""
    start, end = _range(report)
    file_format = wanted["format"]

    def fetch(table, after):
        return rows(session, table, start, end, after, PAGE_ROWS)

    doc = document_of(outline(session, report), wanted["lang"], fetch,
                      exports.Options.from_settings(settings))
    buffer = io.BytesIO()
    exports.write(doc, file_format, buffer)
    session.rollback()
    return {"filename": exports.filename(report, file_format, wanted["lang"]),
            "content_type": CONTENT_TYPES[file_format],
            "content": base64.b64encode(buffer.getvalue()).decode("ascii")}
