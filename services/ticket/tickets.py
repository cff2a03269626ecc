"""Creating and reading tickets: each use case takes a unit of work, writes the change, its
history and its events in one transaction, and commits."""
import dataclasses

from sqlalchemy import Boolean, and_, bindparam, func, literal, not_, select, union_all

from services.common.db import next_sequence
from services.common.errors import Archived, NotFound
from services.common.schemas import load_or_422, page_of, schema_of
from services.ticket import domain, sla
from services.ticket.clocks import start_cycle
from services.ticket.customers import VIEW_COLUMNS, NotInView, from_view
from services.ticket.departments import check_department
from services.ticket.models import (
    ArchivedTicket, Rating, SequenceCounter, SlaClock, Ticket, Transition,
)
from services.ticket.notices import ACKNOWLEDGEMENT, settle_notify_customer, tell_customer
from services.ticket.policy import STORED_POLICY, policy_or_default
from services.ticket.presentation import (
    STORED, calendar_of, history_entries, present, present_parts,
)
from services.ticket.schemas import RatingSchema, TicketFilterSchema, TicketInputSchema

# Columns lists filter on, in working and archived tickets alike.
LIST_FILTERS = ("state", "customer_id", "owner", "priority", "category", "channel",
                "department", "late_entry")


def create_ticket(uow, payload: dict, find_customer,
                  command_id: str | None = None) -> dict | None:
    """The customer's owner, email and language come from the service's view of customers
    (:mod:`~services.ticket.customers`), read along with the ticket's number; about a
    customer the view does not hold yet, ``find_customer(customer_id)`` asks the customer
    service, outside any transaction, and the create starts over with its answer. A ticket
    made by a ``ticket.create`` command is made once per ``command_id`` (a repeat returns
    None); a repeated request is answered by the service's ``@idempotent`` entrypoint."""
    data = load_or_422(schema_of(TicketInputSchema), payload)
    received_at = data.pop("received_at", None) or uow.now()
    domain.check_received_at(received_at, uow.now())
    notify = data.pop("notify_customer", None)
    try:
        return _open_ticket(uow, data, received_at, notify, command_id)
    except NotInView:
        uow.rollback()  # no transaction stays open while another service is asked
        customer = find_customer(data["customer_id"])
        return _open_ticket(uow, data, received_at, notify, command_id, customer)


def _open_ticket(uow, data: dict, received_at, notify, command_id: str | None,
                 customer: dict | None = None) -> dict | None:
    """Open the ticket for ``customer`` (None: as the view knows it) and commit."""
    if command_id is not None and not uow.claim("tickets.create", command_id):
        return None
    session, now = uow.session, uow.now()
    check_department(session, data.get("department"))
    sequence, stored, *known = next_sequence(session, SequenceCounter, data["customer_id"],
                                             STORED_POLICY, *VIEW_COLUMNS,
                                             customer_id=data["customer_id"])
    if customer is None:
        customer = from_view(data["customer_id"], known)
    policy = policy_or_default(stored)
    # Written with Core inserts at commit, in one round trip with its clocks, history and
    # events (the ORM would add a round trip per table and nothing else).
    ticket = Ticket(id=domain.ticket_id(data["customer_id"], sequence), version=1,
                    state="pending", escalated=False, on_hold=False,
                    sla_calendar=policy.get("calendar"), created_by=uow.context.actor,
                    created_at=now, updated_at=now, received_at=received_at,
                    late_entry=domain.is_late_entry(received_at, now),
                    customer_email=customer.get("email"),
                    language=customer.get("language") or domain.DEFAULT_LANGUAGE,
                    **{"owner": customer["owner"], **data})
    settle_notify_customer(ticket, notify)
    uow.add_row(ticket)
    calendar = calendar_of(ticket)
    for clock, target in sla.targets(policy, ticket.category, ticket.priority,
                                     ticket.complex).items():
        # The customer has waited for an answer since they gave the feedback (录入 may be late).
        start_cycle(ticket, clock, target, received_at if clock == "first_response" else now,
                    calendar)
    for clock in ticket.clocks:
        uow.add_row(clock)
    uow.add_row(Transition(ticket_id=ticket.id, from_state=None, to_state="pending", note=None,
                           at=now, by=uow.context.actor))
    shown = present(ticket, now)
    uow.emit("ticket.created", {"ticket": shown})
    tell_customer(uow, ticket, ACKNOWLEDGEMENT, now, shown)
    uow.commit()
    return shown


_CYCLE_COLUMNS = tuple(field.name for field in dataclasses.fields(sla.ClockCycle))
_RATING_COLUMNS = tuple(schema_of(RatingSchema).fields)


def _shown_statement():
    """A ticket as it is shown, in one statement: a row per cycle of its clocks, with its
    rating joined (a round trip each when read on their own), so the three are read from one
    state of the database. Read as rows: loading them as ORM objects cost as much as all the
    rest of a ``tickets.get``."""
    ticket, cycle, rating = Ticket.__table__, SlaClock.__table__, Rating.__table__
    return (select(*(ticket.c[name] for name in (*STORED, "sla_calendar")),
                   *(cycle.c[name].label(f"cycle_{name}") for name in _CYCLE_COLUMNS),
                   *(rating.c[name].label(f"rating_{name}") for name in _RATING_COLUMNS))
            .select_from(ticket.outerjoin(cycle, cycle.c.ticket_id == ticket.c.id)
                         .outerjoin(rating))
            .where(ticket.c.id == bindparam("ticket_id")))


_SHOWN = _shown_statement()


def _lookup(session, ticket_id: str, for_update: bool = False) -> Ticket | ArchivedTicket:
    """The working ticket, else the archived one, else a 404."""
    statement = select(Ticket).where(Ticket.id == ticket_id)
    if for_update:
        statement = statement.with_for_update()
    return _or_archived(session, ticket_id, session.scalars(statement).first())


def _or_archived(session, ticket_id: str, ticket: Ticket | None) -> Ticket | ArchivedTicket:
    found = ticket or session.get(ArchivedTicket, ticket_id)
    if found is None:
        raise NotFound(f"Ticket {ticket_id} does not exist.", {"id": ticket_id})
    return found


def find_ticket(session, ticket_id: str, for_update: bool = False) -> Ticket:
    """The ticket to change, or a 404; an archived one is a 409 ``archived`` (it can be read,
    not changed). ``for_update`` locks its row for the rest of the transaction."""
    found = _lookup(session, ticket_id, for_update)
    if isinstance(found, ArchivedTicket):
        raise Archived(f"Ticket {ticket_id} is archived; it can be read but not changed.",
                       {"id": ticket_id})
    return found


def get_ticket(uow, ticket_id: str) -> dict:
    """One statement outside a transaction (``uow.read``) for a working ticket, presented
    from its rows."""
    rows = uow.read(_SHOWN, {"ticket_id": ticket_id})
    if not rows:
        return _or_archived(uow.reads, ticket_id, None).ticket
    cycles = [_cycle_of(row) for row in rows if row.cycle_clock is not None]
    return present_parts(rows[0], cycles, _rating_of(rows[0]), uow.now())


def _cycle_of(row) -> sla.ClockCycle:
    return sla.ClockCycle(**{name: row._mapping[f"cycle_{name}"] for name in _CYCLE_COLUMNS})


def _rating_of(row) -> dict | None:
    if row.rating_score is None:
        return None
    return {name: row._mapping[f"rating_{name}"] for name in _RATING_COLUMNS}


def _matching(model, filters: dict):
    """(id, created_at, archived) of the rows of ``model`` the list's filters select."""
    statement = select(model.id, model.created_at,
                       literal(model is ArchivedTicket, Boolean).label("archived"))
    for name in LIST_FILTERS:
        if name in filters:
            statement = statement.where(getattr(model, name) == filters[name])
    if "breached" in filters:
        statement = statement.where(model.escalated.is_(filters["breached"]))
    if "status_label" in filters:  # an archived ticket keeps the label it was closed with
        statement = statement.where(ArchivedTicket.status_label == filters["status_label"]
                                    if model is ArchivedTicket
                                    else status_label_is(filters["status_label"]))
    return statement


def list_tickets(uow, query: dict) -> dict:
    """Working tickets, newest first; with ``archived=true`` the archived ones too."""
    filters = load_or_422(schema_of(TicketFilterSchema), query)
    page, per_page = filters.pop("page"), filters.pop("per_page")
    models = (Ticket, ArchivedTicket) if filters.pop("archived") else (Ticket,)
    keys = union_all(*(_matching(model, filters) for model in models)).subquery()
    session = uow.session
    total = session.scalar(select(func.count()).select_from(keys))
    rows = session.execute(select(keys).order_by(keys.c.created_at.desc(), keys.c.id.desc())
                           .offset((page - 1) * per_page).limit(per_page)).all()
    live = session.scalars(select(Ticket).where(
        Ticket.id.in_([row.id for row in rows if not row.archived])))
    old = session.scalars(select(ArchivedTicket).where(
        ArchivedTicket.id.in_([row.id for row in rows if row.archived])))
    now = uow.now()
    shown = {ticket.id: present(ticket, now) for ticket in live}
    shown.update((ticket.id, ticket.ticket) for ticket in old)
    return page_of([shown[row.id] for row in rows if row.id in shown], total, page, per_page)


def status_label_is(label: str):
    """The SQL condition of :func:`services.ticket.domain.status_label` being ``label``."""
    unresolvable = and_(Ticket.state.in_(domain.RATABLE_STATES),
                        Ticket.resolution == "unresolvable")
    if label == "awaiting_customer":
        return Ticket.on_hold.is_(True)
    if label == "unresolvable":
        return unresolvable
    return and_(Ticket.state == label, Ticket.on_hold.is_(False), not_(unresolvable))


def ticket_history(uow, ticket_id: str) -> list[dict]:
    """Transitions, comments, holds, the rating and the notices sent to the customer, oldest
    first."""
    found = _lookup(uow.session, ticket_id)
    if isinstance(found, ArchivedTicket):
        return found.history
    return history_entries(uow.session, found)
