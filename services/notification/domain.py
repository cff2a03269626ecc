"""The notification rules, free of Nameko, HTTP and SQL: who hears of which event, how
retries back off, how a burst of emails is gathered into a digest, how webhooks are signed."""
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.common.events import catalogues

# Every event any producer declares: each may notify someone, and webhooks may ask for any.
CONTRACT = {source: tuple(events.events) for source, events in catalogues().items()}
EVENT_TYPES = tuple(event_type for types in CONTRACT.values() for event_type in types)

# Kinds of notice; the texts for each live in :mod:`services.notification.templates`.
TICKET_ASSIGNED = "ticket_assigned"
SLA_WARNING = "sla_warning"
SLA_BREACHED = "sla_breached"
RATING_REQUEST = "rating_request"
CONTACT_CHANGED = "contact_changed"
LOGIN_ALERT = "login_alert"
TASK_ASSIGNED = "task_assigned"
TASK_DUE_SOON = "task_due_soon"
TASK_OVERDUE = "task_overdue"
TICKET_DISSATISFIED = "ticket_dissatisfied"
REVIEW_REJECTED = "review_rejected"
CHURN_RISK = "churn_risk"
MONTHLY_REPORT = "monthly_report"
# Emails to a ticket's customer, by the kind of notice the ticket service asked for.
CUSTOMER_KINDS = {"acknowledgement": "customer_acknowledgement", "delay": "customer_delay",
                  "outcome": "customer_outcome"}
CONTACT_FIELDS = ("phone", "office_phone", "email", "contact_name")
# A customer's open work: who is on it serves the customer (contact changes reach them).
OPEN_STATES = {"ticket": ("pending", "in_progress"), "task": ("open",)}


@dataclass(frozen=True)
class Notice:
    recipient: str
    kind: str
    params: dict


def _ticket_params(ticket: dict) -> dict:
    return {"ticket_id": ticket["id"], "title": ticket.get("title") or "",
            "customer_id": ticket.get("customer_id") or "", "priority": ticket.get("priority") or ""}


def _customer_params(customer: dict) -> dict:
    return {"customer_id": customer["id"], "customer_name": customer.get("name") or ""}


def _sla_params(data: dict) -> dict:
    return {**_ticket_params(data["ticket"]), "clock": data["clock"], "due_at": data["due_at"]}


def _assigned(data, _admins, _related):
    return [(data["ticket"].get("owner"), TICKET_ASSIGNED, _ticket_params(data["ticket"]))]


def _sla_warning(data, _admins, _related):
    return [(data["ticket"].get("owner"), SLA_WARNING, _sla_params(data))]


def _sla_breached(data, admins, _related):
    params = _sla_params(data)
    return [(name, SLA_BREACHED, params) for name in [data["ticket"].get("owner"), *admins]]


def _transitioned(data, _admins, _related):
    if data.get("to") != "done":
        return []
    return [(data["ticket"].get("owner"), RATING_REQUEST, _ticket_params(data["ticket"]))]


def is_open(kind: str, state: str) -> bool:
    """Whether a ticket or task in ``state`` is work still to do."""
    return state in OPEN_STATES[kind]


def _customer_updated(data, _admins, serving):
    """A contact change: the owner and the people serving the customer (the owners of its
    open tickets, the assignees of its open tasks), each once."""
    changes = [change for change in data.get("changes", []) if change["field"] in CONTACT_FIELDS]
    if not data.get("contact_changed") or not changes:
        return []
    params = {**_customer_params(data["customer"]), "changes": changes}
    return [(name, CONTACT_CHANGED, params)
            for name in [data["customer"].get("owner"), *serving]]


def _reviewed(data, _admins, _related):
    """A rejected review goes back to the author of the change, with the note."""
    review = data["review"]
    if review["decision"] != "rejected":
        return []
    params = {**_customer_params(data["customer"]), "by": review["by"],
              "note": review.get("note") or ""}
    return [(review.get("author"), REVIEW_REJECTED, params)]


def _churn_risk(data, admins, managers):
    """A high-value customer drifting away: its owner, their team's managers and the admins."""
    risk = data["risk"]
    params = {**_customer_params(data["customer"]), "value_tier": risk["value_tier"],
              "deal_amount": risk["deal_amount"], "last_activity_at": risk["last_activity_at"],
              "quiet_days": risk["quiet_days"], "owner": risk["owner"]}
    return [(name, CHURN_RISK, params) for name in [risk["owner"], *managers, *admins]]


def _task_params(task: dict) -> dict:
    return {"task_id": task["id"], "title": task["title"], "due_at": task["due_at"],
            "customer_id": task.get("customer_id") or "-"}


def _task_created(data, _admins, _related):
    return [(data["task"]["assignee"], TASK_ASSIGNED, _task_params(data["task"]))]


def _task_reminder(kind):
    """The workflow service names who hears of a reminder (it knows the teams)."""
    def trigger(data, _admins, _related):
        return [(name, kind, _task_params(data["task"])) for name in data["notify"]]
    return trigger


def _login_alert(data, _admins, _related):
    params = {"at": data["at"], "address": data["address"],
              "user_agent": data.get("user_agent") or "-"}
    return [(data["user"]["username"], LOGIN_ALERT, params)]


def _dissatisfied(data, admins, managers):
    """A low score: the owner and their team's managers (the admins when it has none)."""
    rating = data["rating"]
    params = {**_ticket_params(data["ticket"]), "score": rating["score"],
              "comment": rating.get("comment") or ""}
    return [(name, TICKET_DISSATISFIED, params)
            for name in [data["ticket"].get("owner"), *(managers or admins)]]


# Events whose notices go to the managers of the ticket's (or customer's) owner.
ESCALATED_TO_MANAGERS = ("ticket.dissatisfied", "customer.churn_risk")


def escalated_owner(event_type: str, data: dict) -> str | None:
    """Whose team's managers hear of an escalated event."""
    if event_type == "customer.churn_risk":
        return data["risk"]["owner"]
    return data["ticket"].get("owner")


def _monthly_report(data, admins, managers):
    """The monthly feedback report, with its PDF attached: the admins and every manager."""
    params = {"month": data["month"], "filename": data["filename"]}
    return [(name, MONTHLY_REPORT, params) for name in [*admins, *managers]]


# Events whose notices go to every manager (and the admins).
TO_ALL_MANAGERS = ("report.monthly_built",)
# Events whose emails carry a file (fetched from the service that keeps it).
WITH_ATTACHMENT = ("report.monthly_built",)

TRIGGERS = {
    "ticket.created": _assigned,
    "ticket.assigned": _assigned,
    "ticket.sla_warning": _sla_warning,
    "ticket.sla_breached": _sla_breached,
    "ticket.transitioned": _transitioned,
    "customer.updated": _customer_updated,
    "customer.reviewed": _reviewed,
    "customer.churn_risk": _churn_risk,
    "user.login_alert": _login_alert,
    "task.created": _task_created,
    "task.due_soon": _task_reminder(TASK_DUE_SOON),
    "task.overdue": _task_reminder(TASK_OVERDUE),
    "ticket.dissatisfied": _dissatisfied,
    "report.monthly_built": _monthly_report,
}
# The events whose notices may reach the admins: the admins are looked up for these only.
TO_ADMINS = frozenset({"ticket.sla_breached", "customer.churn_risk", "ticket.dissatisfied",
                       "report.monthly_built"})
# Nobody needs telling what they just did themselves.
SKIP_ACTOR = frozenset({TICKET_ASSIGNED, CONTACT_CHANGED, TASK_ASSIGNED})


def notices_for(event_type: str, data: dict, admins: list[str], actor: str | None,
                related: list[str] = ()) -> list[Notice]:
    """The notices an event gives rise to: one per recipient at most. ``related`` are the
    people the service looked up for it: the managers of the ticket owner's team for an
    escalation (:data:`ESCALATED_TO_MANAGERS`), the people serving the customer for a
    contact change."""
    trigger = TRIGGERS.get(event_type)
    notices, seen = [], set()
    for recipient, kind, params in (trigger(data, admins, related) if trigger else []):
        if not recipient or recipient in seen or (kind in SKIP_ACTOR and recipient == actor):
            continue
        seen.add(recipient)
        notices.append(Notice(recipient, kind, params))
    return notices


@dataclass(frozen=True)
class CustomerEmail:
    target: str     # the delivery log's target: the ticket and the kind of notice
    to: str
    kind: str
    lang: str
    params: dict


def customer_email(data: dict, survey_link) -> CustomerEmail:
    """The email a ``ticket.customer_notified`` event asks for, in the customer's language.
    Each notice of a ticket is its own delivery target, so none waits for another's window.
    A notice naming a survey gets its link from ``survey_link(survey_id)`` (None: no link)."""
    notice = data["notice"]
    params = dict(notice["params"])
    if params.get("survey_id") is not None:
        link = survey_link(params.pop("survey_id"))
        if link:
            params["survey_url"] = link
    return CustomerEmail(target=f"customer:{data['ticket']['id']}:{notice['kind']}",
                         to=notice["to"], kind=CUSTOMER_KINDS[notice["kind"]],
                         lang=notice["language"], params=params)


def retry_delay(attempts: int, base_seconds: float, max_attempts: int) -> float | None:
    """Seconds to wait after the ``attempts``-th failed try; None once the tries are used up.

    Exponential: base, 2×base, 4×base … (30 s base and 6 tries span about 15 minutes)."""
    if attempts >= max_attempts:
        return None
    return base_seconds * 2 ** (attempts - 1)


@dataclass(frozen=True)
class PendingEmail:
    id: str
    created_at: datetime
    held: bool


@dataclass(frozen=True)
class EmailPlan:
    send: list
    hold: list
    hold_until: datetime | None = None


def plan_emails(due: list[PendingEmail], last_email_at: datetime | None, now: datetime,
                window_seconds: float) -> EmailPlan:
    """What to do with one recipient's due emails of one event type: at most one email per
    window; what comes within the window waits and leaves as one digest when it ends.

    ``last_email_at`` is when the previous email was handed to the mail server (an attempt
    counts whether or not it went through, so a failing server is not hammered either)."""
    window = timedelta(seconds=window_seconds)
    due = sorted(due, key=lambda email: (email.created_at, email.id))
    if last_email_at is not None and now < last_email_at + window:
        return EmailPlan(send=[], hold=due, hold_until=last_email_at + window)
    if len(due) <= 1 or any(email.held for email in due):
        return EmailPlan(send=due, hold=[])
    return EmailPlan(send=due[:1], hold=due[1:], hold_until=now + window)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Deskflow-Signature`` header: HMAC-SHA256 with the secret of
    ``"<timestamp>.<raw body>"``, where the timestamp (``X-Deskflow-Timestamp``, Unix
    seconds) is when this attempt was sent. Signing the time lets a receiver refuse a
    replayed request: an old timestamp cannot be swapped for a fresh one."""
    signed = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
