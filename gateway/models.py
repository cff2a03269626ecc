"""The gateway's own tables: users, their login audit, its outbox of user events, and the
answers kept for idempotent requests."""
from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import OutboxMixin, UTCDateTime, service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()


class Outbox(OutboxMixin, Base):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    team: Mapped[str | None] = mapped_column(String(80), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    # Set for a password an admin or `make run` chose: only a password change is allowed.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    # Tokens carry the generation they were issued under; raising it revokes them all.
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None until the first login, which never raises a login alert.
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RevokedToken(Base):
    """A token ended by a logout, kept until it would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LoginAttempt(Base):
    """One login, failed or not, from a client address (its network kept for alerts); the
    throttle counts these, and they are purged after 90 days."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_user_address", "username", "remote_addr", "at"),
                      Index("ix_login_attempts_address", "remote_addr", "at"),
                      Index("ix_login_attempts_user_network", "username", "network", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), index=True)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    network: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class IdempotentRequest(Base):
    """A request sent with an ``Idempotency-Key``, and its answer once there is one."""

    __tablename__ = "idempotent_requests"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(10))
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict | None] = mapped_column(JSON)  # Content-Type, ETag, Location
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(120))  # host:pid:start of the claim
