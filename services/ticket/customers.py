"""The customers as the ticket service knows them: a view kept from the customer service's
events, so that creating a ticket does not ask that service.

A ticket takes three things from its customer: its owner (the ticket's owner unless given),
its email and its language (where and how the customer is told about the ticket); and it
must not be made for a deleted customer. The view keeps those per customer, stamped with
the time of the event it reflects (``as_of``): an older event delivered late — each event
type has its own queue — never overwrites a newer state. Each event is applied once
(:func:`~services.common.consuming.apply_batch`).

The view is eventually consistent: a change of owner or email reaches it when its event is
consumed, a few milliseconds after the change commits, so a ticket created within that
window takes the previous owner or address (as it would have a moment earlier). A customer
the view does not hold yet — created a moment ago, or before this view existed — is asked
of the customer service (``customers.get``), as every create did before; a customer the view
knows deleted is refused with the same 422 that call gives."""
from datetime import datetime

from marshmallow import EXCLUDE, Schema, fields
from sqlalchemy import bindparam, select

from services.common.consuming import apply_batch
from services.common.db import upsert_per_backend
from services.common.events import parse_envelope
from services.common.lookups import no_such
from services.common.schemas import load_or_422, schema_of
from services.ticket.models import KnownCustomer

CONSUMER = "tickets.customer_view"
# The events that make, change or delete what a ticket takes from its customer.
CONSUMED = {"customers": ("customer.created", "customer.updated", "customer.deleted")}
FIELDS = ("owner", "email", "language")

_TABLE = KnownCustomer.__table__


class NotInView(Exception):
    """The view does not hold the customer (yet)."""


class ShownCustomerSchema(Schema):
    """The part of an event's ``customer`` the view keeps."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True)
    owner = fields.String(allow_none=True, load_default=None)
    email = fields.String(allow_none=True, load_default=None)
    language = fields.String(allow_none=True, load_default=None)


# Whether the view knows the customer named by the bind parameter ``customer_id`` deleted,
# and its owner, email and language, as scalar subqueries (all NULL when the view does not
# hold it): the statement that numbers a new ticket reads them along, in its round trip.
VIEW_COLUMNS = tuple(select(column).where(_TABLE.c.id == bindparam("customer_id"))
                     .scalar_subquery()
                     for column in (_TABLE.c.deleted, *(_TABLE.c[name] for name in FIELDS)))


def from_view(customer_id: str, known) -> dict:
    """The owner, email and language a new ticket takes from its customer, given what
    :data:`VIEW_COLUMNS` read: :class:`NotInView` when the view does not hold the customer
    (the caller asks the customer service), the 422 ``customers.get`` would give when it
    knows it deleted."""
    deleted, *values = known
    if deleted is None:
        raise NotInView(customer_id)
    if deleted:
        raise no_such("customer_id", customer_id)
    return dict(zip(FIELDS, values))


def state_of(envelope: dict) -> dict:
    """The view row a customer event says: the customer as the event shows it, deleted or
    not, as of the event's time. A payload without a readable customer raises (a 4xx)."""
    shown = load_or_422(schema_of(ShownCustomerSchema), envelope["data"].get("customer"))
    return {"id": shown["id"], **{name: shown[name] for name in FIELDS},
            "deleted": envelope["type"] == "customer.deleted",
            "as_of": datetime.fromisoformat(envelope["occurred_at"])}


def newest_states(states: list[dict]) -> list[dict]:
    """Each customer's newest state of ``states`` (of two as old, the later delivered), in
    id order: the order the upsert locks the rows in, so two batches never wait on each
    other crosswise."""
    newest = {}
    for state in states:
        if state["id"] not in newest or state["as_of"] >= newest[state["id"]]["as_of"]:
            newest[state["id"]] = state
    return [newest[key] for key in sorted(newest)]


def learn_customers(uow, payloads: list) -> int:
    """Apply a batch of customer events to the view in one transaction; returns how many
    were new. Every payload is read before anything is written."""
    envelopes = [parse_envelope(payload) for payload in payloads]
    states = {envelope["id"]: state_of(envelope) for envelope in envelopes}
    return apply_batch(uow, CONSUMER, envelopes, lambda fresh: _store(
        uow.session, newest_states([states[envelope["id"]] for envelope in fresh])))


def _newer_replaces(insert):
    """The upsert of view rows: a state at least as new as the stored one replaces it; an
    older one leaves it."""
    statement = insert(_TABLE)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[_TABLE.c.id],
        set_={name: excluded[name] for name in (*FIELDS, "deleted", "as_of")},
        where=_TABLE.c.as_of <= excluded.as_of)


_STORE = upsert_per_backend(_newer_replaces)


def _store(session, rows: list[dict]) -> None:
    """One execution of the upsert, its rows as parameters."""
    session.execute(_STORE(session), rows)
