"""The delivery worker: sends due email and webhook deliveries, retries failures with
exponential backoff, and gathers bursts of emails into digests.

Each round claims the due rows in one short transaction (a lease moves them out of the due
set; ``SKIP LOCKED`` keeps two service instances apart), then sends each claim in its own
green thread, outside any transaction, and records the outcome in another short one. A slow
or dead receiver only ties up its own green thread, for at most its timeout.
"""
import json
import logging
import smtplib
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

import eventlet
import urllib3
from eventlet.greenpool import GreenPool
from nameko.extensions import DependencyProvider
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from services.common.clock import clock_from
from services.common.config import settings_from
from services.common.db import make_engine
from services.common.periodic import run_every
from services.common.wakeups import CommitWatch
from services.notification import domain, templates
from services.notification.models import Delivery, MailAttachment, Webhook
from services.notification.options import DeliveryOptions, delivery_options
from services.notification.targets import UnsafeTarget, post_pinned, resolve_target

log = logging.getLogger(__name__)

CLAIM_BATCH = 500
# An idle delivery worker looks for due rows at least this often (retries that come due,
# rows another instance wrote); a row written or changed here wakes it sooner.
IDLE_POLL_MAX_SECONDS = 5.0
SMTP_PORT = 25


class DeliveryFailed(Exception):
    pass


@dataclass(frozen=True)
class WebhookJob:
    delivery_id: str
    url: str
    secret: str
    envelope: dict

    @property
    def ids(self):
        return [self.delivery_id]


@dataclass(frozen=True)
class EmailJob:
    ids: list
    to: str
    notices: list  # [(kind, params)]
    lang: str | None = None  # a customer's email is in their language only
    attachment: str | None = None  # the sha256 of a kept MailAttachment


def webhook_request(job: WebhookJob, timestamp: int) -> tuple[bytes, dict]:
    """The exact body and headers of a webhook delivery sent at ``timestamp``."""
    body = json.dumps(job.envelope, ensure_ascii=False, separators=(",", ":")).encode()
    return body, {
        "Content-Type": "application/json",
        "X-Deskflow-Timestamp": str(timestamp),
        "X-Deskflow-Signature": domain.signature(job.secret, timestamp, body),
        "X-Deskflow-Event": job.envelope["type"],
        "X-Deskflow-Delivery": job.delivery_id,
    }


def post_webhook(job: WebhookJob, timeout: float, allow_private: bool) -> None:
    """Send one attempt. The URL is checked again here, at send time, and the request goes
    to the very address that passed the check."""
    body, headers = webhook_request(job, int(time.time()))
    # Each socket wait is bounded by ``timeout``; the green timeout bounds the whole call.
    with eventlet.Timeout(timeout * 2, DeliveryFailed(f"no answer within {timeout * 2:g}s")):
        target = resolve_target(job.url, allow_private)
        status = post_pinned(target, body, headers, timeout)
    if not 200 <= status < 300:
        raise DeliveryFailed(f"HTTP {status}")


def delivery_error(exc: BaseException) -> str:
    """What the delivery log shows of a failure: a status code or a generic reason, never
    the exception's text (which can carry internal addresses and library details)."""
    if isinstance(exc, (DeliveryFailed, UnsafeTarget)):
        return str(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "TLS handshake or certificate check failed"
    # (urllib3's NewConnectionError is also a timeout error, so it is asked first.)
    if isinstance(exc, (ConnectionError, urllib3.exceptions.NewConnectionError,
                        urllib3.exceptions.ProtocolError)):
        return "could not connect or the connection broke"
    if isinstance(exc, (TimeoutError, urllib3.exceptions.TimeoutError)):
        return "no answer in time"
    if isinstance(exc, (OSError, urllib3.exceptions.HTTPError, smtplib.SMTPException)):
        return "could not connect or the connection broke"
    return "delivery failed"


class Mailer:
    """Sends plain-text mail through the SMTP server of ``smtp://[user:password@]host[:port]``."""

    def __init__(self, smtp_url: str, mail_from: str, timeout: float):
        parts = urlsplit(smtp_url)
        self.host, self.port = parts.hostname, parts.port or SMTP_PORT
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.mail_from = mail_from
        self.timeout = timeout

    def send(self, to: str, subject: str, body: str, attachments=()) -> None:
        """``attachments``: ``(filename, content type, bytes)`` each."""
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.mail_from, to, subject
        message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid("deskflow")
        message.set_content(body)
        for filename, content_type, content in attachments:
            maintype, subtype = content_type.split("/", 1)
            message.add_attachment(content, maintype=maintype, subtype=subtype,
                                   filename=filename)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


class DeliveryWorker:
    def __init__(self, session_factory, clock, options: DeliveryOptions, mailer: Mailer | None,
                 spawn):
        self.session_factory = session_factory
        self.clock = clock
        self.options = options
        self.mailer = mailer
        self.spawn = spawn

    def dispatch_due(self) -> int:
        """Claim what is due and start sending it; return how many sends were started."""
        jobs = self.claim_due()
        for job in jobs:
            self.spawn(self.run, job)
        return len(jobs)

    def claim_due(self) -> list:
        now = self.clock.now()
        with self.session_factory() as session:
            rows = session.scalars(
                select(Delivery).where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                .order_by(Delivery.next_attempt_at).limit(CLAIM_BATCH)
                .with_for_update(skip_locked=True)).all()
            jobs = [*self._webhook_jobs(session, [row for row in rows if row.channel == "webhook"]),
                    *self._email_jobs(session, [row for row in rows if row.channel == "email"], now)]
            lease_end = now + timedelta(seconds=self.options.lease_seconds)
            claimed = {delivery_id for job in jobs for delivery_id in job.ids}
            for row in rows:
                if row.id in claimed:
                    row.next_attempt_at, row.last_attempt_at = lease_end, now
            session.commit()
        return jobs

    def _webhook_jobs(self, session, rows) -> list[WebhookJob]:
        jobs = []
        for row in rows:
            hook = session.get(Webhook, row.webhook_id)
            if hook.deleted_at is not None:
                row.status, row.last_error = "failed", "the webhook was deleted"
                continue
            jobs.append(WebhookJob(row.id, hook.url, hook.secret, row.payload))
        return jobs

    def _email_jobs(self, session, rows, now) -> list[EmailJob]:
        groups = defaultdict(list)
        for row in rows:
            groups[(row.target, row.event_type)].append(row)
        jobs = []
        for (target, event_type), group in groups.items():
            last_email = session.scalar(select(func.max(Delivery.last_attempt_at)).where(
                Delivery.channel == "email", Delivery.target == target,
                Delivery.event_type == event_type))
            by_id = {row.id: row for row in group}
            plan = domain.plan_emails([domain.PendingEmail(row.id, row.created_at, row.held)
                                       for row in group], last_email, now,
                                      self.options.email_window_seconds)
            for email in plan.hold:
                by_id[email.id].held, by_id[email.id].next_attempt_at = True, plan.hold_until
            if plan.send:
                sending = [by_id[email.id] for email in plan.send]
                jobs.append(EmailJob([row.id for row in sending], sending[-1].payload["to"],
                                     [(row.payload["kind"], row.payload["params"])
                                      for row in sending], sending[-1].payload.get("lang"),
                                     sending[-1].payload.get("attachment")))
        return jobs

    def run(self, job) -> None:
        try:
            self.send(job)
            error = None
        except Exception as exc:  # any failure of a receiver is retried, not raised
            error = delivery_error(exc)
            log.warning("delivery %s failed: %s (%s: %s)", ",".join(job.ids), error,
                        type(exc).__name__, exc)
        try:
            self.record(job.ids, error)
        except Exception:
            log.exception("could not record the outcome of %s; its lease will expire",
                          ",".join(job.ids))

    def send(self, job) -> None:
        if isinstance(job, WebhookJob):
            post_webhook(job, self.options.http_timeout_seconds,
                         self.options.allow_private_webhooks)
        else:
            subject, body = (templates.render_customer_email(*job.notices[-1], job.lang)
                             if job.lang else templates.render_email(job.notices))
            self.mailer.send(job.to, subject, body, self._attachments(job))

    def _attachments(self, job: EmailJob) -> list:
        if job.attachment is None:
            return []
        with self.session_factory() as session:
            kept = session.get(MailAttachment, job.attachment)
            if kept is None:
                raise DeliveryFailed(f"the attachment {job.attachment} is gone")
            return [(kept.filename, kept.content_type, kept.content)]

    def record(self, ids: list[str], error: str | None) -> None:
        now = self.clock.now()
        with self.session_factory() as session:
            for row in session.scalars(select(Delivery).where(Delivery.id.in_(ids))):
                row.attempts += 1
                row.last_error = error[:2000] if error else None
                if error is None:
                    row.status, row.sent_at = "sent", now
                    continue
                delay = domain.retry_delay(row.attempts, self.options.retry_base_seconds,
                                           self.options.max_attempts)
                if delay is None:
                    row.status = "failed"
                else:
                    row.next_attempt_at = now + timedelta(seconds=delay)
            session.commit()


class Pacing:
    """When the next delivery round is due: every ``base`` seconds while rounds find work;
    while they find none, twice as long after each empty round, up to ``most`` seconds (an
    idle service polls its database rarely). A :meth:`nudge` — a delivery row written or
    changed in this process was committed — makes the next tick a round again."""

    def __init__(self, base: float, most: float, clock=time.monotonic):
        self.base, self.most, self.clock = base, max(base, most), clock
        self.interval, self.last, self.nudged = base, None, False

    def nudge(self, *_args) -> None:
        self.nudged = True

    def due(self) -> bool:
        return self.nudged or self.last is None or self.clock() - self.last >= self.interval

    def round(self, dispatch) -> int:
        """Run ``dispatch()`` (how many sends it started) and pace the next round."""
        self.nudged = False  # a nudge during the round counts for the next one
        self.last = self.clock()
        found = dispatch()
        self.interval = self.base if found else min(self.interval * 2, self.most)
        return found


class DeliveryWorkerProvider(DependencyProvider):
    """Runs the delivery worker in the container; workers see its settings."""

    def setup(self):
        config = self.container.config
        settings = settings_from(config)
        self.options = delivery_options(config)
        self.first_admin = settings.admin_username
        self.engine = make_engine(settings.database_url("notification"))
        mailer = (Mailer(settings.smtp_url, self.options.mail_from,
                         self.options.http_timeout_seconds) if settings.smtp_url else None)
        self.pool = GreenPool(self.options.concurrency)
        self.worker = DeliveryWorker(sessionmaker(self.engine, expire_on_commit=False),
                                     clock_from(config), self.options, mailer, self.pool.spawn_n)

    @property
    def email_enabled(self) -> bool:
        return self.worker.mailer is not None

    def start(self):
        self.running = True
        self.pacing = Pacing(self.options.poll_seconds, IDLE_POLL_MAX_SECONDS)
        # A delivery row written or changed here wakes the worker once it is committed.
        self.watch = CommitWatch([Delivery], self.pacing.nudge)
        self.watch.start()
        self.container.spawn_managed_thread(lambda: run_every(
            self.options.poll_seconds, self._round, lambda: self.running,
            eventlet.sleep, "delivery round"))

    def _round(self) -> None:
        if self.pacing.due():
            self.pacing.round(self.worker.dispatch_due)

    def _stop_listening(self):
        if getattr(self, "watch", None) is not None:
            self.watch.stop()

    def stop(self):
        self.running = False
        self._stop_listening()
        with eventlet.Timeout(self.options.http_timeout_seconds * 2, False):
            self.pool.waitall()
        self.engine.dispose()

    def kill(self):
        self.running = False
        self._stop_listening()

    def get_dependency(self, worker_ctx):
        return self
