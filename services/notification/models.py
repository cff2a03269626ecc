"""The notification service's tables (its own database)."""
from datetime import datetime

from sqlalchemy import (
    JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import (
    OutboxMixin, ProcessedEventMixin, ProcessedRequestMixin, UTCDateTime, service_metadata,
)


class Base(DeclarativeBase):
    metadata = service_metadata()


class Outbox(OutboxMixin, Base):
    pass


class ProcessedEvent(ProcessedEventMixin, Base):
    pass


class ProcessedRequest(ProcessedRequestMixin, Base):
    pass


class CustomerWork(Base):
    """A ticket or task of a customer and the person on it, kept from the ticket and task
    events (each carries the whole record): who serves the customer now, for contact
    changes."""

    __tablename__ = "customer_work"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)  # ticket, task
    item_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    person: Mapped[str | None] = mapped_column(String(80))
    open: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Recipient(Base):
    """A user as learnt from ``user.created`` and ``user.updated`` events: who the admins
    are and where to mail."""

    __tablename__ = "recipients"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), index=True)
    # A manager hears of their team's dissatisfied customers.
    team: Mapped[str | None] = mapped_column(String(80), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InboxEntry(Base):
    """One notice in a user's in-app inbox; rendered in the reader's language on reading."""

    __tablename__ = "inbox_entries"
    __table_args__ = (UniqueConstraint("username", "event_id"),
                      Index("ix_inbox_entries_username_read_at", "username", "read_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Webhook(Base):
    """A subscription: signed POSTs of the listed event types to ``url``."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(500))
    event_types: Mapped[list] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Delivery(Base):
    """One event to one target over one channel. The unique key (channel, target, event id)
    makes a redelivered event produce no second delivery; the row is also the retry state
    and the delivery log."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("channel", "target", "event_id"),
                      Index("ix_deliveries_due", "status", "next_attempt_at"),
                      Index("ix_deliveries_channel_target", "channel", "target", "event_type"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    # The recipient's username or ``customer:<ticket id>:<notice>`` (email), or the webhook id.
    target: Mapped[str] = mapped_column(String(80))
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(80))
    # Email: {"to", "kind", "params"} (and "lang" for a customer's); webhook: the envelope.
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # An email that waited for its recipient's rate window; it leaves in a digest.
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When it was last handed to its channel; an email in flight counts for the rate window.
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailAttachment(Base):
    """A file some emails carry (the monthly feedback report's PDF), fetched once from the
    service that made it and kept by its digest (one row a month; nothing removes them)."""

    __tablename__ = "mail_attachments"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
