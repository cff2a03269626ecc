"""The notification service's use cases behind the HTTP API: the inbox, webhooks and the
delivery log. Events become inbox entries and deliveries in :mod:`.intake`."""
import re

from sqlalchemy import select

from services.common.db import count
from services.common.errors import NotFound, ValidationFailed
from services.common.schemas import load_or_422, page_of, schema_of
from services.notification import live, templates
from services.notification.models import Delivery, InboxEntry, Webhook
from services.notification.targets import UnsafeTarget, resolve_target
from services.notification.schemas import (
    DeliveryFilterSchema, DeliverySchema, InboxFilterSchema, LanguageSchema, NotificationSchema,
    WebhookInputSchema, WebhookSchema,
)

MAX_ID = 2**31 - 1


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
    live.changing(uow.session)
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
    live.changing(uow.session)
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
