"""Reports (SPEC §5): the summary of a date range and the same figures as a file."""
import base64

from flask import Blueprint, Response

from gateway.api.endpoint import endpoint, query_args, rpc
from services.reporting.schemas import (
    CONTENT_TYPES, ExportQuerySchema, SummaryQuerySchema, SummarySchema, TrendQuerySchema,
    TrendSchema,
)

blueprint = Blueprint("reports", __name__)


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


@endpoint(blueprint, "/reports/export", "GET",
          "The summary as CSV, an Excel workbook with charts or a PDF report (lang=en|zh).",
          "reports.read", query=ExportQuerySchema, errors=(422,),
          content_types=tuple(CONTENT_TYPES.values()))
def report_export():
    built = rpc("reporting", "export", query_args())
    return Response(base64.b64decode(built["content"]), content_type=built["content_type"],
                    headers={"Content-Disposition":
                             f'attachment; filename="{built["filename"]}"'})
