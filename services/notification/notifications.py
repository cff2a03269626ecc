"""The notification service's use cases: turning events into inbox entries and delivery
rows (one transaction per event, deduplicated on its id), and the inbox, webhook and
delivery-log queries behind the HTTP API."""
import hashlib
import logging
import re
import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common.db import count
from services.common.errors import NotFound, ValidationFailed
from services.common.events import parse_envelope
from services.common.schemas import load_or_422, page_of, schema_of
from services.notification import domain, serving, templates
from services.notification.models import (
    Delivery, InboxEntry, MailAttachment, Recipient, Webhook,
)
from services.notification.targets import UnsafeTarget, resolve_target
from services.notification.schemas import (
    EVENT_DATA_SCHEMAS, DeliveryFilterSchema, DeliverySchema, InboxFilterSchema, LanguageSchema,
    NotificationSchema, WebhookInputSchema, WebhookSchema,
)

CONSUMER = "notifications"
# Each carries the whole user: who the admins are and where to mail.
USER_EVENTS = ("user.created", "user.updated", "user.login_alert")
MAX_ID = 2**31 - 1
log = logging.getLogger(__name__)


def handle_event(uow, payload, email_enabled: bool, first_admin: str,
                 survey_link=lambda survey_id: None, fetch_file=None) -> bool:
    """Record what ``payload`` asks for; False when it was handled before (a redelivery).

    ``first_admin`` (``ADMIN_USERNAME``) counts as an admin even if its ``user.created``
    never reached us: the gateway creates it before this service's queues exist.
    ``fetch_file(event_type, data)`` returns the bytes of the file an event's emails carry
    (:data:`domain.WITH_ATTACHMENT`), fetched from the service that keeps it."""
    envelope = parse_envelope(payload)
    event_type = envelope["type"]
    schema = EVENT_DATA_SCHEMAS.get(event_type)
    data = load_or_422(schema_of(schema), envelope["data"]) if schema else envelope["data"]
    if not uow.claim(CONSUMER, envelope["id"]):
        return False
    if event_type in USER_EVENTS:
        learn_recipient(uow, data["user"], datetime.fromisoformat(envelope["occurred_at"]))
    admins = [first_admin, *uow.session.scalars(select(Recipient.username).where(
        Recipient.role == "admin", Recipient.active.is_(True)).order_by(Recipient.username))]
    serving.track(uow.session, event_type, envelope["data"],
                  datetime.fromisoformat(envelope["occurred_at"]))
    attachment = None
    if event_type in domain.WITH_ATTACHMENT and email_enabled and fetch_file is not None:
        attachment = _keep_attachment(uow, data, fetch_file(event_type, data))
    for notice in domain.notices_for(event_type, data, admins, uow.context.actor,
                                     _related(uow.session, event_type, data)):
        _notify(uow, envelope, notice, email_enabled, attachment)
    if event_type == "ticket.customer_notified" and email_enabled:
        _email_customer(uow, envelope, domain.customer_email(data, survey_link))
    _queue_webhooks(uow, envelope)
    try:
        uow.commit()
    except IntegrityError:  # the same event, handled concurrently by another worker
        uow.rollback()
        log.info("event %s was already handled", envelope["id"])
        return False
    return True


def learn_recipient(uow, user: dict, as_of: datetime) -> None:
    """Keep the user as of ``as_of`` (the event's time) unless a later event was applied:
    each event type has its own queue, so an update may arrive before the creation."""
    known = uow.session.get(Recipient, user["username"])
    if known is not None and known.updated_at > as_of:
        return
    uow.session.merge(Recipient(username=user["username"], display_name=user.get("display_name"),
                                email=user.get("email"), role=user["role"], team=user.get("team"),
                                active=user.get("active", True), updated_at=as_of))


def _related(session, event_type: str, data: dict) -> list[str]:
    """The people an event's notices need looked up (see :func:`domain.notices_for`)."""
    if event_type in domain.ESCALATED_TO_MANAGERS:
        return _managers_of(session, domain.escalated_owner(event_type, data))
    if event_type == "customer.updated":
        return serving.serving(session, data["customer"]["id"])
    if event_type in domain.TO_ALL_MANAGERS:
        return list(session.scalars(select(Recipient.username).where(
            Recipient.role == "manager", Recipient.active.is_(True))
            .order_by(Recipient.username)))
    return []


def _keep_attachment(uow, data: dict, content: bytes) -> str:
    """Keep the file an event's emails carry; its sha256, which the event names, is checked."""
    digest = hashlib.sha256(content).hexdigest()
    if digest != data["sha256"]:
        raise ValidationFailed("The fetched file does not match the event's digest.",
                               {"expected": data["sha256"], "fetched": digest})
    if uow.session.get(MailAttachment, digest) is None:
        uow.session.add(MailAttachment(sha256=digest, filename=data["filename"],
                                       content_type="application/pdf", content=content,
                                       created_at=uow.now()))
    return digest


def _managers_of(session, username: str | None) -> list[str]:
    """The active managers of ``username``'s team (none when it has no team)."""
    member = session.get(Recipient, username) if username else None
    if member is None or member.team is None:
        return []
    return list(session.scalars(select(Recipient.username).where(
        Recipient.team == member.team, Recipient.role == "manager",
        Recipient.active.is_(True), Recipient.username != username)
        .order_by(Recipient.username)))


def _email_customer(uow, envelope: dict, email: domain.CustomerEmail) -> None:
    """An email to a ticket's customer: one delivery, retried and logged like the others."""
    payload = {"to": email.to, "kind": email.kind, "params": email.params, "lang": email.lang}
    uow.session.add(_delivery("email", email.target, envelope, payload, uow.now()))


def _notify(uow, envelope: dict, notice: domain.Notice, email_enabled: bool,
            attachment: str | None = None) -> None:
    session, now = uow.session, uow.now()
    session.add(InboxEntry(username=notice.recipient, event_id=envelope["id"],
                           event_type=envelope["type"], kind=notice.kind, params=notice.params,
                           created_at=now))
    recipient = session.get(Recipient, notice.recipient)
    if email_enabled and recipient is not None and recipient.email and recipient.active:
        payload = {"to": recipient.email, "kind": notice.kind, "params": notice.params}
        if attachment is not None:
            payload["attachment"] = attachment
        session.add(_delivery("email", notice.recipient, envelope, payload, now))


def _queue_webhooks(uow, envelope: dict) -> None:
    hooks = uow.session.scalars(select(Webhook).where(Webhook.deleted_at.is_(None)))
    for hook in hooks:
        if envelope["type"] in hook.event_types:
            row = _delivery("webhook", str(hook.id), envelope, envelope, uow.now())
            row.webhook_id = hook.id
            uow.session.add(row)


def _delivery(channel: str, target: str, envelope: dict, payload: dict, now) -> Delivery:
    return Delivery(id=str(uuid.uuid4()), channel=channel, target=target,
                    event_id=envelope["id"], event_type=envelope["type"], payload=payload,
                    status="pending", attempts=0, next_attempt_at=now, held=False,
                    created_at=now)


def _present_entry(entry: InboxEntry, lang: str) -> dict:
    title, body = templates.render(entry.kind, entry.params, lang)
    return schema_of(NotificationSchema).dump({
        "id": entry.id, "kind": entry.kind, "event_type": entry.event_type,
        "event_id": entry.event_id, "title": title, "body": body, "params": entry.params,
        "read": entry.read_at is not None, "created_at": entry.created_at,
        "read_at": entry.read_at})


def inbox(uow, query: dict) -> dict:
    """The caller's own notices, newest first."""
    filters = load_or_422(schema_of(InboxFilterSchema), query)
    page, per_page = filters["page"], filters["per_page"]
    statement = select(InboxEntry).where(InboxEntry.username == uow.context.actor)
    if "unread" in filters:
        read_at = InboxEntry.read_at
        statement = statement.where(read_at.is_(None) if filters["unread"] else read_at.isnot(None))
    rows = uow.session.scalars(statement.order_by(InboxEntry.id.desc())
                               .offset((page - 1) * per_page).limit(per_page))
    items = [_present_entry(row, filters["lang"]) for row in rows]
    return page_of(items, count(uow.session, statement), page, per_page)


def _get(session, model, record_id, what: str, visible=lambda row: True):
    """The row with id ``record_id`` (as given in a URL) if ``visible``; 404 otherwise."""
    number = int(record_id) if re.fullmatch(r"[0-9]{1,10}", str(record_id)) else 0
    row = session.get(model, number) if 0 < number <= MAX_ID else None
    if row is None or not visible(row):
        raise NotFound(f"{what} {record_id} does not exist.", {"id": record_id})
    return row


def mark_read(uow, entry_id, lang: str = "en") -> dict:
    """Mark one of the caller's notices read; another user's is as good as absent (404)."""
    lang = load_or_422(schema_of(LanguageSchema), {"lang": lang})["lang"]
    entry = _get(uow.session, InboxEntry, entry_id, "Notification",
                 lambda row: row.username == uow.context.actor)
    if entry.read_at is None:
        entry.read_at = uow.now()
        uow.commit()
    return _present_entry(entry, lang)


def create_webhook(uow, payload: dict, allow_private: bool = False) -> dict:
    """Subscribe a URL; one that resolves to a non-public address is refused (422) unless
    ``allow_private`` (``WEBHOOK_ALLOW_PRIVATE``)."""
    data = load_or_422(schema_of(WebhookInputSchema), payload)
    try:
        resolve_target(data["url"], allow_private)
    except UnsafeTarget as exc:
        raise ValidationFailed("Some fields are invalid.",
                               {"fields": {"url": [str(exc)]}}) from None
    data["event_types"] = sorted(set(data["event_types"]))
    hook = Webhook(created_at=uow.now(), created_by=uow.context.actor, **data)
    uow.session.add(hook)
    uow.commit()
    return schema_of(WebhookSchema).dump(hook)


def list_webhooks(uow) -> list[dict]:
    hooks = uow.session.scalars(select(Webhook).where(Webhook.deleted_at.is_(None))
                                .order_by(Webhook.id))
    return schema_of(WebhookSchema, many=True).dump(hooks)


def _live_webhook(session, webhook_id) -> Webhook:
    return _get(session, Webhook, webhook_id, "Webhook", lambda row: row.deleted_at is None)


def delete_webhook(uow, webhook_id) -> None:
    """Stop deliveries to it; its delivery log stays."""
    _live_webhook(uow.session, webhook_id).deleted_at = uow.now()
    uow.commit()


def deliveries(uow, query: dict, webhook_id=None) -> dict:
    """The delivery log, newest first: all of it, or one webhook's."""
    filters = load_or_422(schema_of(DeliveryFilterSchema), query)
    statement = select(Delivery)
    if webhook_id is not None:
        hook = _live_webhook(uow.session, webhook_id)
        statement = statement.where(Delivery.webhook_id == hook.id)
    for name in ("status", "channel"):
        if name in filters:
            statement = statement.where(getattr(Delivery, name) == filters[name])
    page, per_page = filters["page"], filters["per_page"]
    rows = uow.session.scalars(statement.order_by(Delivery.created_at.desc(), Delivery.id)
                               .offset((page - 1) * per_page).limit(per_page))
    return page_of(schema_of(DeliverySchema, many=True).dump(rows), count(uow.session, statement),
                   page, per_page)
