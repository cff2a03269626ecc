"""What the workflow service knows of customers, tickets and users: small views kept from
their events, each row stamped with the time of the event it reflects so a late, older event
never overwrites a newer state."""
from datetime import datetime

from sqlalchemy import select

from services.common.db import upsert
from services.customer.domain import lifecycle_status
from services.workflow.models import CustomerView, TicketView, UserView
from services.workflow.rules import TRACKED_CUSTOMER_FIELDS


def status_of(customer: CustomerView, now: datetime) -> str | None:
    """The lifecycle status now (it moves with time, without an event)."""
    if customer.last_activity_at is None:
        return None
    return lifecycle_status(customer.last_activity_at, now)


def snapshot(customer: CustomerView | None) -> dict | None:
    if customer is None:
        return None
    return {"ever_deal": customer.ever_deal, "owner": customer.owner}


def locked_rows(session, model, blanks: dict[str, dict]) -> dict:
    """The view rows for the keys of ``blanks``, each made from its blank if missing, locked
    until commit in key order. Events about one record may be handled at once (each type has
    its queue): an insert waits for the other's and then does nothing, so neither fails, and
    locking in key order keeps two batches from waiting on each other crosswise."""
    if not blanks:
        return {}
    keys = sorted(blanks)
    session.execute(upsert(session, model.__table__).values([blanks[key] for key in keys])
                    .on_conflict_do_nothing())
    rows = session.scalars(select(model).where(model.id.in_(keys)).order_by(model.id)
                           .with_for_update().execution_options(populate_existing=True))
    return {row.id: row for row in rows}


def learn_customer(event_type: str, data: dict, at: datetime, row: CustomerView) -> CustomerView:
    """Update the view from a customer event (an older event than the row's is ignored)."""
    shown = data["customer"]
    if row.as_of > at:
        return row
    row.name = shown.get("name")
    for name in TRACKED_CUSTOMER_FIELDS:
        setattr(row, name, shown.get(name))
    if shown.get("last_activity_at"):
        row.last_activity_at = datetime.fromisoformat(shown["last_activity_at"])
    row.ever_deal = row.ever_deal or shown.get("type") == "deal"
    row.deleted = event_type == "customer.deleted"
    row.as_of = at
    return row


def learn_ticket(row: TicketView, data: dict, at: datetime) -> TicketView:
    """Update the view from a ticket event (an older event than the row's is ignored)."""
    shown = data["ticket"]
    if row.as_of > at:
        return row
    row.customer_id, row.owner, row.state = shown.get("customer_id"), shown.get("owner"), shown.get("state")
    row.as_of = at
    return row


def learn_user(session, data: dict) -> None:
    user = data["user"]
    session.merge(UserView(username=user["username"], role=user["role"], team=user.get("team"),
                           email=user.get("email"), active=user.get("active", True)))


def user(session, username: str) -> UserView | None:
    return session.get(UserView, username)


def team_of(session, username: str) -> str | None:
    row = session.get(UserView, username)
    return row.team if row is not None else None


def is_active_user(session, username: str, admin_username: str) -> bool:
    """Known and active; the first admin counts even before its ``user.created`` arrives
    (the gateway makes it before this service's queues exist)."""
    row = session.get(UserView, username)
    if row is None:
        return username == admin_username
    return row.active


def managers_of(session, team: str | None) -> list[str]:
    if team is None:
        return []
    return list(session.scalars(select(UserView.username).where(
        UserView.team == team, UserView.role == "manager", UserView.active.is_(True))))


def admins(session, admin_username: str) -> list[str]:
    names = set(session.scalars(select(UserView.username).where(
        UserView.role == "admin", UserView.active.is_(True))))
    first = session.get(UserView, admin_username)
    if first is None or first.active:
        names.add(admin_username)
    return sorted(names)


def team_members(team: str):
    """A subquery of the usernames in ``team``."""
    return select(UserView.username).where(UserView.team == team)
