"""The customer service's tables (its own database)."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.attachments import AttachmentMixin
from services.common.db import (
    OutboxMixin, ProcessedEventMixin, ProcessedRequestMixin, SequenceCounterMixin, UTCDateTime,
    service_metadata,
)
from services.common.versions import VersionedMixin


class Base(DeclarativeBase):
    metadata = service_metadata()


class Outbox(OutboxMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


class ProcessedRequest(ProcessedRequestMixin, Base):
    pass


class SequenceCounter(SequenceCounterMixin, Base):
    pass


class Customer(VersionedMixin, Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Normalised duplicate key; unique so the database refuses a racing duplicate.
    # Cleared when the customer is deleted, which frees the name again.
    name_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(40))
    office_phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="zh", server_default="zh")
    address: Mapped[str | None] = mapped_column(String(300))
    industry: Mapped[str] = mapped_column(String(10), index=True)
    type: Mapped[str] = mapped_column(String(10), index=True)
    grade: Mapped[str] = mapped_column(String(1), index=True)
    source: Mapped[str | None] = mapped_column(String(20))
    employees: Mapped[int | None] = mapped_column(Integer)
    annual_revenue: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    first_contact_date: Mapped[date | None] = mapped_column(Date)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    deal_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    deal_product: Mapped[str | None] = mapped_column(String(200))
    signed_date: Mapped[date | None] = mapped_column(Date)
    # the profile (客户画像)
    sub_industry: Mapped[str | None] = mapped_column(String(60), index=True)
    size_band: Mapped[str | None] = mapped_column(String(10), index=True)
    contact_title: Mapped[str | None] = mapped_column(String(100))
    legal_representative: Mapped[str | None] = mapped_column(String(100))
    business_area: Mapped[str | None] = mapped_column(String(300))
    needs: Mapped[str | None] = mapped_column(Text)
    pain_points: Mapped[str | None] = mapped_column(Text)
    decision_chain: Mapped[str | None] = mapped_column(Text)
    budget_min: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    budget_max: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    expected_start: Mapped[date | None] = mapped_column(Date)
    preferred_channel: Mapped[str | None] = mapped_column(String(10))
    preferences: Mapped[str | None] = mapped_column(Text)
    market_position: Mapped[str | None] = mapped_column(Text)
    referred_by: Mapped[str | None] = mapped_column(String(40))
    need_tags: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    # review (双人校验 / 三级审核): the state, who made the change under review, the last
    # reviewer's note, who verified it. Customers from before review are approved.
    review: Mapped[str] = mapped_column(String(10), index=True, default="pending",
                                        server_default="approved")
    review_author: Mapped[str | None] = mapped_column(String(80))
    review_note: Mapped[str | None] = mapped_column(Text)
    verified_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Latest contact of any kind (creation, first contact, follow-up, ticket): drives status.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    next_followup_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The last activity of the quiet spell a churn warning was emitted for (once per spell).
    churn_warned_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class CustomerPhoneKey(Base):
    """One row per normalised phone of a live customer, whichever of its phones it is: the
    primary key makes the database refuse a racing duplicate across both phone columns.
    Deleted with the customer, which frees its phones again."""

    __tablename__ = "customer_phone_keys"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)


class CustomerChange(Base):
    __tablename__ = "customer_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(80))
    changes: Mapped[list] = mapped_column(JSON)


class Followup(Base):
    __tablename__ = "followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str] = mapped_column(String(10))
    subject: Mapped[str] = mapped_column(String(200))
    content: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(10))
    next_action: Mapped[str | None] = mapped_column(String(300))
    next_followup_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))


class FollowupPlan(Base):
    """How often customers of each grade should be followed up: a copy of the workflow
    service's grade rules (``followup.plan_changed``), for the next follow-up dates shown."""

    __tablename__ = "followup_plans"

    grade: Mapped[str] = mapped_column(String(1), primary_key=True)
    interval_days: Mapped[int] = mapped_column(Integer)


class CustomerAttachment(AttachmentMixin, Base):
    """A file attached to a customer, or to one of its follow-ups (``followup_id``); the
    bytes are in the attachment store under ``sha256``."""

    __tablename__ = "customer_attachments"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), index=True)
