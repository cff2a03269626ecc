"""What the workflow service knows of customers and users: small views kept from their
events, a customer's row stamped with the time of the event it reflects so a late, older
event never overwrites a newer state. (Of a ticket the rules need only what its event says.)"""
from datetime import datetime

from sqlalchemy import bindparam, select, update

from services.common.db import upsert_per_backend
from services.customer.domain import lifecycle_status
from services.workflow.models import CustomerView, UserView
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


_CUSTOMERS = CustomerView.__table__
_COLUMNS = tuple(_CUSTOMERS.columns.keys())
# Built once (compiled once): the batch consumer's statements on the customer view.
_MAKE_MISSING = upsert_per_backend(
    lambda insert: insert(_CUSTOMERS).on_conflict_do_nothing().returning(_CUSTOMERS.c.id))
_LOCK = (select(_CUSTOMERS).where(_CUSTOMERS.c.id.in_(bindparam("keys", expanding=True)))
         .order_by(_CUSTOMERS.c.id).with_for_update())
_SAVE = (update(_CUSTOMERS).where(_CUSTOMERS.c.id == bindparam("key"))
         .values({name: bindparam(name) for name in _COLUMNS if name != "id"}))


def blank_customer(customer_id: str, as_of: datetime) -> CustomerView:
    """A customer known by its id only, as of ``as_of``."""
    return CustomerView(**{**dict.fromkeys(_COLUMNS), "id": customer_id, "ever_deal": False,
                           "deleted": False, "as_of": as_of})


def _values(row: CustomerView) -> dict:
    return {name: getattr(row, name) for name in _COLUMNS}


def lock_customers(session, missing: dict[str, CustomerView]) -> tuple[dict, set]:
    """The customer rows for the keys of ``missing``, locked until commit, as
    :class:`CustomerView` objects outside the session (changes are written with
    :func:`save_customers`), and the keys whose row was missing and is inserted now as
    ``missing`` gives it.

    Events about one customer may be handled at once (each type has its queue): an insert
    waits for the other's and then does nothing, so neither fails. The missing rows are
    inserted, and so locked, in key order, then the others locked in key order, so two
    batches never wait on each other crosswise."""
    if not missing:
        return {}, set()
    keys = sorted(missing)
    made = set(session.scalars(_MAKE_MISSING(session),
                               [_values(missing[key]) for key in keys]))
    rows = {key: missing[key] for key in keys if key in made}
    others = [key for key in keys if key not in made]
    if others:
        rows.update((row.id, CustomerView(**row._mapping))
                    for row in session.execute(_LOCK, {"keys": others}))
    return rows, made


def save_customers(session, rows) -> None:
    """Write the customer rows (from :func:`lock_customers`) as they are now, in one
    statement."""
    if rows:
        session.execute(_SAVE, [{**_values(row), "key": row.id} for row in rows])


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
