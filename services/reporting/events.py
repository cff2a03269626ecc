"""The events the reporting service emits (exchange ``reporting.events``); see
:mod:`services.common.events`."""
from marshmallow import fields

from services.common.events import Catalogue

EVENTS = Catalogue("reporting")

EVENTS.declare(
    "report.monthly_built",
    "The monthly feedback report (客户反馈分析报告) of a month that has ended was built. "
    "The PDF stays in the reporting service: fetch it with the RPC "
    "reporting.monthly_report_chunk(month, offset) (a claim check: no file on the queue).",
    month=fields.String(required=True, metadata={"description": "YYYY-MM"}),
    filename=fields.String(required=True),
    size=fields.Integer(required=True),
    sha256=fields.String(required=True),
    built_at=fields.AwareDateTime(required=True),
    built_by=fields.String(required=True))
