"""The monthly feedback report (客户反馈分析报告): built for a month from the read model,
kept as a PDF in this service's database, listed, and handed out in pieces.

On the first day of a month (UTC) the monthly timer builds the month before; an admin may
build any month that has begun. A month that has ended is built once: asking again returns
the same report. A month still in progress is built as it stands and built again, complete,
once it has ended. Each complete build emits ``report.monthly_built`` with the file's size
and digest, not its bytes: the notification service fetches the PDF with
:func:`chunk` (a claim check) and mails it to the admins and managers."""
import base64
import hashlib
import re
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.common.errors import NotFound, ValidationFailed
from services.reporting import periods, store
from services.reporting import summary as summaries
from services.reporting.exports.monthly_pdf import LISTED_TEXTS, MonthlyFigures, monthly_pdf
from services.reporting.models import MonthlyReport, RatingDetail, TicketDetail

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
CHUNK_BYTES = 256 * 1024


def parse_month(month) -> date:
    """The first day of ``YYYY-MM``; 422 for anything else."""
    found = MONTH.match(month) if isinstance(month, str) else None
    if found is None or not 1900 <= int(found.group(1)) <= 2999:
        raise ValidationFailed("A month is YYYY-MM, e.g. 2026-10.",
                               {"fields": {"month": ["Must be YYYY-MM."]}})
    return date(int(found.group(1)), int(found.group(2)), 1)


def month_name(first: date) -> str:
    return first.strftime("%Y-%m")


def last_day(first: date) -> date:
    return periods.next_month(first) - timedelta(days=1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def filename(month: str) -> str:
    return f"customer-feedback-report-{month}.pdf"


def describe(row: MonthlyReport) -> dict:
    return {"month": row.month, "complete": row.complete, "built_at": row.built_at.isoformat(),
            "built_by": row.built_by, "filename": row.filename, "size": row.size,
            "sha256": row.sha256}


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, timezone.utc)


def _texts(session, model, moment, columns, start: date, end: date, **where) -> tuple:
    """(first LISTED_TEXTS rows in time order, total) of a detail table in [start, end]."""
    bounds = [moment >= _start_of(start), moment < _start_of(end + timedelta(days=1))]
    bounds += [getattr(model, name) == value for name, value in where.items()]
    total = session.scalar(select(func.count()).select_from(model).where(*bounds))
    rows = session.execute(select(*columns).where(*bounds).order_by(moment)
                           .limit(LISTED_TEXTS)).all()
    return [tuple(row) for row in rows], total


def figures_of(session, first: date, now) -> MonthlyFigures:
    end = min(last_day(first), periods.day_of(now))
    before = previous_month(first)

    def summary(start, stop):
        return summaries.summarise(store.read_figures(session, start, stop, now))

    comments, comments_total = _texts(
        session, RatingDetail, RatingDetail.at,
        (RatingDetail.at, RatingDetail.ticket_id, RatingDetail.customer_id,
         RatingDetail.service_type, RatingDetail.score, RatingDetail.comment), first, end)
    comments = [row for row in comments if row[-1]]
    comments_total = comments_total if len(comments) == comments_total else len(comments)
    suggestions, suggestions_total = _texts(
        session, TicketDetail, TicketDetail.created_at,
        (TicketDetail.created_at, TicketDetail.id, TicketDetail.customer_id, TicketDetail.title),
        first, end, category="suggestion")
    return MonthlyFigures(month_name(first), month_name(before), summary(first, end),
                          summary(before, last_day(before)), comments, suggestions,
                          comments_total, suggestions_total)


def build(uow, month, settings) -> dict:
    """Build ``month``'s report (or return it, when it is built and complete)."""
    first = parse_month(month)
    now = uow.now()
    today = periods.day_of(now)
    if first > today:
        raise ValidationFailed("That month has not begun.",
                               {"fields": {"month": ["Must not be in the future."]}})
    session = uow.session
    name = month_name(first)
    known = session.get(MonthlyReport, name)
    if known is not None and known.complete:
        return describe(known)
    content = monthly_pdf(figures_of(session, first, now), "zh", settings.report_font)
    complete = last_day(first) < today
    row = known or MonthlyReport(month=name)
    row.complete, row.built_at, row.built_by = complete, now, uow.context.actor
    row.filename, row.size = filename(name), len(content)
    row.sha256, row.content = hashlib.sha256(content).hexdigest(), content
    session.add(row)
    described = describe(row)
    if complete:
        uow.emit("report.monthly_built", {key: value for key, value in described.items()
                                          if key != "complete"} | {"built_at": now})
    try:
        uow.commit()
    except IntegrityError:  # built at the same moment by another worker: that one stands
        uow.rollback()
        return describe(uow.session.get(MonthlyReport, name))
    return described


def build_due(uow, settings) -> dict | None:
    """The monthly timer: last month's report, unless it is built and complete."""
    last = previous_month(periods.day_of(uow.now()).replace(day=1))
    known = uow.session.get(MonthlyReport, month_name(last))
    if known is not None and known.complete:
        uow.session.rollback()
        return None
    return build(uow, month_name(last), settings)


def listing(uow) -> list[dict]:
    rows = uow.session.scalars(select(MonthlyReport).order_by(MonthlyReport.month.desc()))
    described = [describe(row) for row in rows]
    uow.session.rollback()
    return described


def chunk(uow, month, offset: int = 0) -> dict:
    """``{month, filename, size, sha256, offset, content (base64), next}``: up to 256 KiB of
    the PDF from ``offset``; ``next`` is null after the last piece."""
    name = month_name(parse_month(month))
    if not isinstance(offset, int) or offset < 0:
        raise ValidationFailed("offset is a byte position.", {"fields": {"offset": ["≥ 0"]}})
    row = uow.session.get(MonthlyReport, name)
    if row is None:
        raise NotFound(f"No report of {name} has been built.", {"month": name})
    piece = row.content[offset:offset + CHUNK_BYTES]
    following = offset + len(piece)
    answer = {**describe(row), "offset": offset,
              "content": base64.b64encode(piece).decode("ascii"),
              "next": following if following < row.size else None}
    uow.session.rollback()
    return answer
