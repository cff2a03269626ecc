"""Writing to the customer (告知): the acknowledgement, the delay notice and the outcome notice.

The ticket service decides what to tell whom and records it in the ticket's history; the
``ticket.customer_notified`` event carries it to the notification service, which sends the
email in the customer's language, retries it and keeps it in the delivery log."""
from datetime import datetime

from sqlalchemy import select

from services.common.errors import ValidationFailed
from services.ticket.models import Comment, CustomerNotice, Ticket
from services.ticket.presentation import present

ACKNOWLEDGEMENT, DELAY, OUTCOME = "acknowledgement", "delay", "outcome"
KINDS = (ACKNOWLEDGEMENT, DELAY, OUTCOME)


def address_of(ticket: Ticket) -> str | None:
    """The ticket's contact email, else the customer's."""
    return ticket.contact_email or ticket.customer_email


def settle_notify_customer(ticket: Ticket, asked: bool | None) -> None:
    """``notify_customer`` defaults (``asked`` None) to whether there is an address to write
    to; asking for it without one is a 422."""
    has_address = address_of(ticket) is not None
    if asked and not has_address:
        raise ValidationFailed("notify_customer: there is no address to write to.", {"fields": {
            "notify_customer": ["Give contact_email (or an email on the customer) first."]}})
    ticket.notify_customer = has_address if asked is None else asked


def _params(ticket: Ticket) -> dict:
    return {"ticket_id": ticket.id, "title": ticket.title,
            "contact_name": ticket.contact_name or ""}


def latest_public_comment(session, ticket_id: str) -> str:
    body = session.scalar(select(Comment.body).where(
        Comment.ticket_id == ticket_id, Comment.public.is_(True))
        .order_by(Comment.at.desc(), Comment.id.desc()).limit(1))
    return body or ""


def tell_customer(uow, ticket: Ticket, kind: str, now: datetime, shown: dict | None = None,
                  **extra) -> None:
    """Record the notice in the ticket's history and emit it for sending, if the customer
    is to be told and has an address. ``shown``: the ticket as :func:`present` shows it
    now, when the caller has it already."""
    to = address_of(ticket)
    if not ticket.notify_customer or to is None:
        return
    uow.add_row(CustomerNotice(ticket_id=ticket.id, kind=kind, to=to, language=ticket.language,
                               at=now))
    notice = {"kind": kind, "to": to, "language": ticket.language,
              "params": {**_params(ticket), **extra}}
    uow.emit("ticket.customer_notified",
             {"ticket": shown or present(ticket, now), "notice": notice})
