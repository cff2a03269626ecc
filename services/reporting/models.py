"""The reporting service's tables (its own database): the log of consumed events and the
read model built from it (see :mod:`services.reporting.domain`)."""
from datetime import date, datetime

from sqlalchemy import (
    JSON, BigInteger, Boolean, Date, Float, Index, Integer, LargeBinary, String, Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import OutboxMixin, UTCDateTime, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Outbox(OutboxMixin, Base):
    """Required by the unit of work; the reporting service emits no events of its own."""


class EventLog(Base):
    """Every consumed event, once: the unique id is the deduplication, and the log is what
    ``python -m services.reporting.rebuild`` replays, in ``seq`` (arrival) order."""

    __tablename__ = "event_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    envelope: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DailyCount(Base):
    """``n`` of ``metric`` on ``day`` for one ``dimension = value`` (``all = all`` for the total)."""

    __tablename__ = "daily_counts"
    __table_args__ = (Index("ix_daily_counts_metric_day", "metric", "day"),
                      Index("ix_daily_counts_covering", "day", "metric", "dimension", "value",
                            postgresql_include=["n"]))

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(80), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class PeriodCount(Base):
    """The roll-ups of ``daily_counts``: the same counters summed over the week starting on
    Monday ``start`` (``period = week``) or the calendar month starting on ``start``
    (``period = month``), maintained with the same deltas in the same transaction, so a long
    range reads a dozen months instead of hundreds of days."""

    __tablename__ = "period_counts"
    # Covering indexes: a range's pieces are read by index-only scans, however scattered
    # over the table the rows have become by their many updates.
    __table_args__ = (Index("ix_period_counts_covering", "period", "start", "metric",
                            "dimension", "value", postgresql_include=["n"]),)

    period: Mapped[str] = mapped_column(String(5), primary_key=True)
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(80), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class DurationHistogram(Base):
    """How many durations of ``clock`` ended in a period (``day``: that UTC day; ``week``:
    the week starting on Monday ``start``; ``month``: the calendar month starting on
    ``start``) within the bucket starting at ``seconds``."""

    __tablename__ = "duration_histograms"
    __table_args__ = (Index("ix_duration_histograms_covering", "clock", "period", "start",
                            "seconds", postgresql_include=["n"]),)

    clock: Mapped[str] = mapped_column(String(20), primary_key=True)
    period: Mapped[str] = mapped_column(String(5), primary_key=True)
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class CurrentCount(Base):
    """How many customers or tickets have ``dimension = value`` right now."""

    __tablename__ = "current_counts"

    dimension: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(80), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class CustomerRow(Base):
    __tablename__ = "customer_states"
    # The lifecycle status reads the customers last active on its boundary days through this.
    __table_args__ = (Index("ix_customer_states_last_activity_at", "last_activity_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    grade: Mapped[str] = mapped_column(String(10))
    industry: Mapped[str] = mapped_column(String(20))
    source: Mapped[str | None] = mapped_column(String(20))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted: Mapped[bool] = mapped_column(Boolean)
    review: Mapped[str | None] = mapped_column(String(10))
    owner: Mapped[str | None] = mapped_column(String(80))
    deal_cents: Mapped[int | None] = mapped_column(BigInteger)
    signed_date: Mapped[date | None] = mapped_column(Date)
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TicketRow(Base):
    __tablename__ = "ticket_states"
    # The backlog query reads only the open tickets through this index.
    __table_args__ = (Index("ix_ticket_states_state_created_at", "state", "created_at"),)

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))
    service_type: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    times: Mapped[dict] = mapped_column(JSON)
    status_label: Mapped[str | None] = mapped_column(String(20))


# --- detail rows of the exports (services.reporting.details) -------------------------------

class ConvertedCustomer(Base):
    """A customer that moved from prospect/intent to deal, on ``converted_on`` (its latest
    snapshot's name, owner and deal)."""

    __tablename__ = "detail_customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    converted_on: Mapped[date] = mapped_column(Date, index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(80))
    deal_amount: Mapped[float | None] = mapped_column(Float)
    deal_product: Mapped[str | None] = mapped_column(String(200))
    signed_date: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TicketDetail(Base):
    """A ticket as its newest snapshot shows it, with the outcome of its first-response and
    resolution clocks (``met``, ``breached`` or null while running)."""

    __tablename__ = "detail_tickets"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(200))
    service_type: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response: Mapped[str | None] = mapped_column(String(10))
    resolution: Mapped[str | None] = mapped_column(String(10))


class RatingDetail(Base):
    """A ticket's rating with the survey's answers (one rating per ticket)."""

    __tablename__ = "detail_ratings"

    ticket_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    service_type: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    score: Mapped[int] = mapped_column(Integer)
    quality: Mapped[int | None] = mapped_column(Integer)
    speed: Mapped[int | None] = mapped_column(Integer)
    effectiveness: Mapped[int | None] = mapped_column(Integer)
    nps_score: Mapped[int | None] = mapped_column(Integer)
    would_cooperate_again: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    collected_via: Mapped[str | None] = mapped_column(String(20))
    rated_by: Mapped[str | None] = mapped_column(String(80))


class FollowupDetail(Base):
    __tablename__ = "detail_followups"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(20))
    owner: Mapped[str | None] = mapped_column(String(80))
    feedback: Mapped[str | None] = mapped_column(Text)
    next_action: Mapped[str | None] = mapped_column(Text)


class MonthlyReport(Base):
    """A built 客户反馈分析报告 (the monthly feedback report) and its PDF. ``complete`` is
    false for a month still in progress (built on demand); the monthly timer builds the
    month again once it has ended."""

    __tablename__ = "monthly_reports"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    complete: Mapped[bool] = mapped_column(Boolean)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    built_by: Mapped[str] = mapped_column(String(80))
    filename: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
