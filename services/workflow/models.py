"""The workflow service's tables (its own database): tasks, rules, what the rules have done,
and the small views of customers and users it learns from their events."""
from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import (
    OutboxMixin, ProcessedEventMixin, ProcessedRequestMixin, UTCDateTime, service_metadata,
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


class Task(VersionedMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_assignee_state_due_at", "assignee", "state", "due_at"),
                      Index("ix_tasks_rule_id_state", "rule_id", "state"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(String(40), index=True)
    ticket_id: Mapped[str | None] = mapped_column(String(48), index=True)
    assignee: Mapped[str] = mapped_column(String(80))
    priority: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    source: Mapped[str] = mapped_column(String(40), index=True)
    rule_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completion_note: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    due_soon_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The earliest moment the reminder sweep has something to send for this task.
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class Rule(Base):
    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # Set on the rules shipped by default (``grade_followup_A`` ...), so they are made once.
    default_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean)
    definition: Mapped[dict] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(80))


class Occurrence(Base):
    """One per task a rule made: ``key`` is the event id (event rules) or
    ``<customer>@<moment>`` (schedules), so a redelivery or a second sweeper hits the key."""

    __tablename__ = "occurrences"

    rule_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    task_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Schedule(Base):
    """A schedule rule's clock for one customer; ``next_at`` (indexed) drives the sweep and
    is NULL while an ``every_days`` task is open."""

    __tablename__ = "schedules"

    rule_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class SeenEvent(Base):
    """Every event the rules may start from or complete on, with its facts: the history a
    dry run replays, and the completions that arrived before the task they complete."""

    __tablename__ = "seen_events"
    __table_args__ = (Index("ix_seen_events_customer_id_type", "customer_id", "type"),
                      Index("ix_seen_events_ticket_id_type", "ticket_id", "type"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    customer_id: Mapped[str | None] = mapped_column(String(40))
    ticket_id: Mapped[str | None] = mapped_column(String(48))
    facts: Mapped[dict] = mapped_column(JSON)


class CustomerView(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    owner: Mapped[str | None] = mapped_column(String(80))
    grade: Mapped[str | None] = mapped_column(String(4))
    type: Mapped[str | None] = mapped_column(String(20))
    value_tier: Mapped[str | None] = mapped_column(String(20))
    industry: Mapped[str | None] = mapped_column(String(20))
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ever_deal: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # The occurred_at of the event this row reflects: an older event arriving late is ignored.
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)


class UserView(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    role: Mapped[str] = mapped_column(String(20))
    team: Mapped[str | None] = mapped_column(String(80), index=True)
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
