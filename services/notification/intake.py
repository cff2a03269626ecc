"""Events into inbox entries and delivery rows, a batch of deliveries at a time in one
transaction, each event once (:func:`~services.common.consuming.apply_batch`).

A batch gives what its events would give one by one, in delivery order. What the events
look up is read when an event first needs it, once per batch (:class:`Directory`): the admins,
managers and recipients only for the events that name them, and the people again after a
user event changes them; the live webhooks, which any event may be for, come from the
process's view of them (:mod:`.live`), read a few times a second at most.
What the batch writes goes in one execution per table of a prebuilt statement
(:class:`Writes`): the tickets and tasks the events carry before anything reads them, the
inbox entries and the deliveries at the end. A batch that can change nothing here (no
notice, no user, no work to keep, no webhook that wants it) is not even claimed: it costs
no round trip while the view of the webhooks is fresh."""
import hashlib
import uuid
from datetime import datetime

from sqlalchemy import insert, select

from services.common.consuming import apply_batch
from services.common.errors import ValidationFailed
from services.common.events import parse_envelope
from services.common.schemas import load_or_422, schema_of
from services.notification import domain, live, serving
from services.notification.models import Delivery, InboxEntry, MailAttachment, Recipient
from services.notification.schemas import EVENT_DATA_SCHEMAS

CONSUMER = "notifications"
# Each carries the whole user: who the admins are and where to mail.
USER_EVENTS = ("user.created", "user.updated", "user.login_alert")


# Prebuilt, so that each is compiled once per process (see :class:`Writes`).
ADD_INBOX_ENTRIES = insert(InboxEntry.__table__)
ADD_DELIVERIES = insert(Delivery.__table__)


class Directory:
    """The people and webhooks a batch's events look up, each read once."""

    def __init__(self, session, first_admin: str):
        self.session, self.first_admin = session, first_admin
        self._known = {}

    def forget(self) -> None:
        """A user event changed the people: read them again (the webhooks stay)."""
        self._known = {key: value for key, value in self._known.items() if key == "webhooks"}

    def _once(self, key, load):
        if key not in self._known:
            self._known[key] = load()
        return self._known[key]

    def _active(self, role: str) -> list[str]:
        return list(self.session.scalars(select(Recipient.username).where(
            Recipient.role == role, Recipient.active.is_(True)).order_by(Recipient.username)))

    def admins(self) -> list[str]:
        """``first_admin`` (``ADMIN_USERNAME``) counts as an admin even if its
        ``user.created`` never reached us: the gateway creates it before this service's
        queues exist."""
        return self._once("admins", lambda: [self.first_admin, *self._active("admin")])

    def managers(self) -> list[str]:
        return self._once("managers", lambda: self._active("manager"))

    def recipient(self, username: str) -> Recipient | None:
        return self._once(("recipient", username),
                          lambda: self.session.get(Recipient, username))

    def webhooks(self) -> list:
        """The live webhooks' ``id`` and ``event_types``."""
        return self._once("webhooks", lambda: live.webhooks(self.session))

    def subscribed(self, event_types: set) -> bool:
        """Whether a live webhook takes any of ``event_types``."""
        return any(not event_types.isdisjoint(hook.event_types) for hook in self.webhooks())


class Writes:
    """What a batch writes, each table in one execution (one round trip: psycopg pipelines
    the rows) of a statement compiled once per process, where a multi-row ``VALUES`` would
    be compiled anew for every batch: the tickets and tasks to keep (:mod:`.serving`,
    written before a contact change reads them), the inbox entries and the deliveries (read
    by nothing in the batch: written at its end)."""

    def __init__(self, session):
        self.session = session
        self.work, self.entries, self.deliveries = [], [], []

    def keep_work(self) -> None:
        serving.track(self.session, self.work)
        self.work.clear()

    def flush(self) -> None:
        self.keep_work()
        for statement, rows in ((ADD_INBOX_ENTRIES, self.entries),
                                (ADD_DELIVERIES, self.deliveries)):
            if rows:
                self.session.execute(statement, rows)
            rows.clear()


def handle_events(uow, payloads: list, email_enabled: bool, first_admin: str,
                  survey_link=lambda survey_id: None, fetch_file=None) -> int:
    """Record what the delivered events ask for; returns how many were new.

    A batch none of whose events can change anything here but through a webhook
    (:func:`_quiet`), and whose types no live webhook takes, is left unclaimed: it has no
    effect, so taking it again has none either, and it costs at most the webhooks' read.

    ``fetch_file(event_type, data)`` returns the bytes of the file an event's emails carry
    (:data:`domain.WITH_ATTACHMENT`), fetched from the service that keeps it."""
    envelopes, loaded, work = [], {}, {}
    for payload in payloads:
        envelope = parse_envelope(payload)
        schema = EVENT_DATA_SCHEMAS.get(envelope["type"])
        loaded[envelope["id"]] = load_or_422(schema_of(schema), envelope["data"]) if schema \
            else envelope["data"]
        work[envelope["id"]] = serving.work_row(envelope["type"], envelope["data"],
                                                datetime.fromisoformat(envelope["occurred_at"]))
        envelopes.append(envelope)
    directory = Directory(uow.session, first_admin)
    if all(_quiet(envelope, work[envelope["id"]], email_enabled) for envelope in envelopes) \
            and not directory.subscribed({envelope["type"] for envelope in envelopes}):
        return 0  # (a read's transaction ends with the worker's session)

    def apply(fresh):
        writes = Writes(uow.session)
        for envelope in fresh:
            _handle(uow, envelope, loaded[envelope["id"]], work[envelope["id"]], directory,
                    writes, email_enabled, survey_link, fetch_file)
        writes.flush()

    return apply_batch(uow, CONSUMER, envelopes, apply)


def _quiet(envelope: dict, work_row: dict | None, email_enabled: bool) -> bool:
    """Whether the event can change nothing but through a webhook: it notifies no one, names
    no user, carries no work to keep and asks for no email."""
    event_type = envelope["type"]
    return (event_type not in domain.TRIGGERS and event_type not in USER_EVENTS
            and work_row is None
            and not (event_type == "ticket.customer_notified" and email_enabled))


def _handle(uow, envelope: dict, data: dict, work_row: dict | None, directory: Directory,
            writes: Writes, email_enabled: bool, survey_link, fetch_file) -> None:
    """One event: what it writes goes to ``writes``."""
    event_type, occurred_at = envelope["type"], datetime.fromisoformat(envelope["occurred_at"])
    if event_type in USER_EVENTS:
        learn_recipient(uow, data["user"], occurred_at)
        directory.forget()
    if work_row is not None:
        writes.work.append(work_row)
    attachment = None
    if event_type in domain.WITH_ATTACHMENT and email_enabled and fetch_file is not None:
        attachment = _keep_attachment(uow, data, fetch_file(event_type, data))
    related = _related(uow.session, directory, writes, event_type, data)
    admins = directory.admins() if event_type in domain.TO_ADMINS else []
    for notice in domain.notices_for(event_type, data, admins, uow.context.actor, related):
        _notify(uow, envelope, notice, email_enabled, attachment, directory, writes)
    if event_type == "ticket.customer_notified" and email_enabled:
        _email_customer(uow, envelope, domain.customer_email(data, survey_link), writes)
    for hook in directory.webhooks():
        if event_type in hook.event_types:
            writes.deliveries.append(_delivery("webhook", str(hook.id), envelope, envelope,
                                               uow.now(), webhook_id=hook.id))


def learn_recipient(uow, user: dict, as_of: datetime) -> None:
    """Keep the user as of ``as_of`` (the event's time) unless a later event was applied:
    each event type has its own queue, so an update may arrive before the creation."""
    known = uow.session.get(Recipient, user["username"])
    if known is not None and known.updated_at > as_of:
        return
    uow.session.merge(Recipient(username=user["username"], display_name=user.get("display_name"),
                                email=user.get("email"), role=user["role"], team=user.get("team"),
                                active=user.get("active", True), updated_at=as_of))


def _related(session, directory: Directory, writes: Writes, event_type: str,
             data: dict) -> list[str]:
    """The people an event's notices need looked up (see :func:`domain.notices_for`)."""
    if event_type in domain.ESCALATED_TO_MANAGERS:
        return _managers_of(session, directory, domain.escalated_owner(event_type, data))
    if event_type == "customer.updated":
        writes.keep_work()  # what the batch's earlier events said first
        return serving.serving(session, data["customer"]["id"])
    if event_type in domain.TO_ALL_MANAGERS:
        return directory.managers()
    return []


def _managers_of(session, directory: Directory, username: str | None) -> list[str]:
    """The active managers of ``username``'s team (none when it has no team)."""
    member = directory.recipient(username) if username else None
    if member is None or member.team is None:
        return []
    return list(session.scalars(select(Recipient.username).where(
        Recipient.team == member.team, Recipient.role == "manager",
        Recipient.active.is_(True), Recipient.username != username)
        .order_by(Recipient.username)))


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


def _email_customer(uow, envelope: dict, email: domain.CustomerEmail, writes: Writes) -> None:
    """An email to a ticket's customer: one delivery, retried and logged like the others."""
    payload = {"to": email.to, "kind": email.kind, "params": email.params, "lang": email.lang}
    writes.deliveries.append(_delivery("email", email.target, envelope, payload, uow.now()))


def _notify(uow, envelope: dict, notice: domain.Notice, email_enabled: bool,
            attachment: str | None, directory: Directory, writes: Writes) -> None:
    now = uow.now()
    writes.entries.append({"username": notice.recipient, "event_id": envelope["id"],
                           "event_type": envelope["type"], "kind": notice.kind,
                           "params": notice.params, "created_at": now, "read_at": None})
    if not email_enabled:
        return
    recipient = directory.recipient(notice.recipient)
    if recipient is not None and recipient.email and recipient.active:
        payload = {"to": recipient.email, "kind": notice.kind, "params": notice.params}
        if attachment is not None:
            payload["attachment"] = attachment
        writes.deliveries.append(_delivery("email", notice.recipient, envelope, payload, now))


def _delivery(channel: str, target: str, envelope: dict, payload: dict, now,
              webhook_id: int | None = None) -> dict:
    """A new ``deliveries`` row (every one of a batch names the same columns)."""
    return {"id": str(uuid.uuid4()), "channel": channel, "target": target,
            "webhook_id": webhook_id, "event_id": envelope["id"], "event_type": envelope["type"],
            "payload": payload, "status": "pending", "attempts": 0, "next_attempt_at": now,
            "held": False, "created_at": now}
