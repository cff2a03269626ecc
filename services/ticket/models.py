"""The ticket service's tables (its own database)."""
from datetime import date, datetime

from sqlalchemy import (
    JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

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


class Ticket(VersionedMixin, Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    service_type: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20), index=True)
    priority: Mapped[str] = mapped_column(String(10), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(80), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    resolution: Mapped[str | None] = mapped_column(String(20))
    solution: Mapped[str | None] = mapped_column(Text)
    expected_resolution_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The feedback form (客户反馈信息记录表): who gave it, how, when, about what.
    channel: Mapped[str | None] = mapped_column(String(20))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_title: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late_entry: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    order_ref: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(100), index=True)
    planned_completion_date: Mapped[date | None] = mapped_column(Date, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    complex: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    close_reason: Mapped[str | None] = mapped_column(String(40))
    # Writing to the customer: the customer's email and language as known at creation.
    notify_customer: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    customer_email: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="zh", server_default="zh")
    delay_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    # The policy's business calendar when the ticket was created (None: around the clock).
    sla_calendar: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    clocks: Mapped[list["SlaClock"]] = relationship(
        primaryjoin="Ticket.id == foreign(SlaClock.ticket_id)", back_populates="ticket",
        order_by="SlaClock.cycle", lazy="selectin")
    rating: Mapped["Rating | None"] = relationship(lazy="selectin")


class SlaClock(Base):
    """One cycle of one SLA clock of a ticket; ``next_check_at`` drives the sweep.

    The cycles are the ledger ``/metrics`` counts (alerts, response-time histograms), so
    they stay here when their ticket is archived: no foreign key to ``tickets``."""

    __tablename__ = "sla_clocks"
    __table_args__ = (UniqueConstraint("ticket_id", "clock", "cycle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(48))
    clock: Mapped[str] = mapped_column(String(20))
    cycle: Mapped[int] = mapped_column(Integer)
    target_seconds: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    held_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    held_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    elapsed_seconds: Mapped[float | None] = mapped_column(Float)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    ticket: Mapped[Ticket] = relationship(
        primaryjoin="Ticket.id == foreign(SlaClock.ticket_id)", back_populates="clocks")


class Transition(Base):
    __tablename__ = "ticket_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(80))


class Comment(Base):
    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(80))


class Hold(Base):
    __tablename__ = "ticket_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_by: Mapped[str] = mapped_column(String(80))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by: Mapped[str | None] = mapped_column(String(80))


class Rating(Base):
    """满意度: one per ticket (the primary key refuses a second)."""

    __tablename__ = "ticket_ratings"

    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    score: Mapped[int] = mapped_column(Integer)
    nps_score: Mapped[int | None] = mapped_column(Integer)
    quality: Mapped[int | None] = mapped_column(Integer)
    speed: Mapped[int | None] = mapped_column(Integer)
    effectiveness: Mapped[int | None] = mapped_column(Integer)
    would_cooperate_again: Mapped[str | None] = mapped_column(String(10))
    comment: Mapped[str | None] = mapped_column(Text)
    # survey (the customer answered the emailed survey), phone, email, visit, other
    collected_via: Mapped[str] = mapped_column(String(20), default="other", server_default="other")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(80))


class CustomerNotice(Base):
    """An email to the customer (acknowledgement, delay, outcome), as the ticket's history
    shows it; the notification service sends it and keeps its delivery log."""

    __tablename__ = "customer_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    to: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Survey(Base):
    """The satisfaction survey a done ticket sends; only the token's SHA-256 is kept."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SurveyAttempt(Base):
    """One request to the survey endpoints from an address: the rate limit counts these."""

    __tablename__ = "survey_attempts"
    __table_args__ = (Index("ix_survey_attempts_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Department(Base):
    """责任部门: the list admins edit; a ticket's department must be on it."""

    __tablename__ = "departments"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)


class SlaPolicy(Base):
    """The current SLA policy document (a single row, id 1)."""

    __tablename__ = "sla_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))


class ArchivedTicket(Base):
    """A closed ticket moved out of the working tables ``ARCHIVE_AFTER_MONTHS`` after its
    last change: the ticket as the API showed it and its history (transitions, comments,
    holds, rating), read-only. The filter columns repeat what lists filter on."""

    __tablename__ = "archived_tickets"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(80), index=True)
    state: Mapped[str] = mapped_column(String(20))
    escalated: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str | None] = mapped_column(String(20))
    department: Mapped[str | None] = mapped_column(String(100))
    late_entry: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status_label: Mapped[str] = mapped_column(String(20), default="closed",
                                              server_default="closed")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ticket: Mapped[dict] = mapped_column(JSON)
    history: Mapped[list] = mapped_column(JSON)


class TicketAttachment(AttachmentMixin, Base):
    """A file attached to a ticket (working or archived: no foreign key, so archiving leaves
    it be); the bytes are in the attachment store under ``sha256``."""

    __tablename__ = "ticket_attachments"

    ticket_id: Mapped[str] = mapped_column(String(48), index=True)


class KnownCustomer(Base):
    """What a ticket takes from its customer (owner, email, language), and whether the
    customer was deleted, as the customer service's events told it (:mod:`.customers`)."""

    __tablename__ = "known_customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(80))
    email: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(10))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The occurred_at of the event the row reflects: an older event arriving late is ignored.
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
