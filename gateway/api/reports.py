"""Reports (SPEC §5): the summary of a date range and the same figures as a file.

The gateway writes every file from the export's outline (the summary, trends and detail
row counts) and pages of detail rows (one RPC per 1,000 rows), so no call waits for a whole
file: the CSV is streamed as it is written; the workbook (openpyxl's write-only mode) and the
PDF (detail tables laid out a page at a time) are written into a temporary file that is then
streamed."""
import base64
import os
import tempfile

from flask import Blueprint, Response, current_app, stream_with_context

from gateway.api.endpoint import endpoint, query_args, rpc
from services.reporting.schemas import (
    CONTENT_TYPES, ExportQuerySchema, MonthlyReportSchema, SummaryQuerySchema, SummarySchema,
    TrendQuerySchema, TrendSchema,
)

blueprint = Blueprint("reports", __name__)
STREAM_CHUNK = 256 * 1024


@endpoint(blueprint, "/reports/summary", "GET",
          "Figures of a date range (inclusive, UTC days; from/to or range=30d|quarter|year; "
          "default the last 30 days).",
          "reports.read", query=SummaryQuerySchema, response=SummarySchema, errors=(422,))
def report_summary():
    return rpc("reporting", "summary", query_args())


@endpoint(blueprint, "/reports/trend", "GET",
          "One metric per day, week or month over a date range (from/to or range; default "
          "the last 30 days); each point's period is the first day of its day, week or month.",
          "reports.read", query=TrendQuerySchema, response=TrendSchema, errors=(422,))
def report_trend():
    return rpc("reporting", "trend", query_args())


def _attachment(filename: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


@endpoint(blueprint, "/reports/export", "GET",
          "The summary as CSV, an Excel workbook with charts or a PDF report (lang=en|zh), "
          "with line charts of the trends and the detail rows of the range.",
          "reports.read", query=ExportQuerySchema, errors=(422,),
          content_types=tuple(CONTENT_TYPES.values()))
def report_export():
    # Imported here: only exports need the file writers (openpyxl, reportlab).
    from services.reporting import exports
    from services.reporting.exports.csv_file import csv_chunks
    from services.reporting.exports.paging import document_of

    query = query_args()
    outline = rpc("reporting", "export_outline", query)  # validates the query
    file_format, lang = query["format"], query.get("lang", "en")
    scope = {"from": outline["report"]["range"]["from"], "to": outline["report"]["range"]["to"]}

    def fetch(table, after):
        return rpc("reporting", "export_rows", {**scope, "table": table, "after": after})

    settings = current_app.extensions["deskflow"].settings
    document = document_of(outline, lang, fetch, exports.Options.from_settings(settings))
    headers = _attachment(exports.filename(outline["report"], file_format, lang))
    if file_format == "csv":
        return Response(stream_with_context(csv_chunks(document)),
                        content_type=CONTENT_TYPES["csv"], headers=headers)
    handle, path = tempfile.mkstemp(prefix="deskflow-export-", suffix=f".{file_format}")
    try:
        with os.fdopen(handle, "wb") as out:
            exports.write(document, file_format, out)
        headers["Content-Length"] = str(os.path.getsize(path))
        return Response(_stream_and_remove(path), content_type=CONTENT_TYPES[file_format],
                        headers=headers)
    except BaseException:
        os.unlink(path)
        raise


def _stream_and_remove(path: str):
    try:
        with open(path, "rb") as file:
            while chunk := file.read(STREAM_CHUNK):
                yield chunk
    finally:
        os.unlink(path)


# --- the monthly feedback report (客户反馈分析报告) ------------------------------------------

@endpoint(blueprint, "/reports/monthly", "GET",
          "The monthly feedback reports built so far, newest month first.",
          "reports.read", response=MonthlyReportSchema, many=True)
def monthly_reports():
    return rpc("reporting", "monthly_reports")


@endpoint(blueprint, "/reports/monthly/<month>", "POST",
          "Build the feedback report of a month (YYYY-MM) now; a month that has ended is "
          "built once (asking again returns it), a month in progress is built as it stands. "
          "A month not begun is 422.",
          "reports.build", response=MonthlyReportSchema, errors=(422,))
def build_monthly_report(month):
    return rpc("reporting", "build_monthly_report", month)


@endpoint(blueprint, "/reports/monthly/<month>", "GET",
          "Download a month's feedback report (PDF).", "reports.read", errors=(404, 422),
          content_types=(CONTENT_TYPES["pdf"],))
def download_monthly_report(month):
    first = rpc("reporting", "monthly_report_chunk", month, 0)

    def pieces():
        piece = first
        while True:
            yield base64.b64decode(piece["content"])
            if piece["next"] is None:
                return
            piece = rpc("reporting", "monthly_report_chunk", month, piece["next"])

    return Response(stream_with_context(pieces()), content_type=CONTENT_TYPES["pdf"],
                    headers={**_attachment(first["filename"]), "ETag": f'"{first["sha256"]}"',
                             "Content-Length": str(first["size"])})
