"""Creating and reading tickets: each use case takes a unit of work, writes the change, its
history and its events in one transaction, and commits."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common.db import count, next_sequence, one_or_404
from services.common.schemas import load_or_422, page_of, schema_of
from services.ticket import domain, sla
from services.ticket.clocks import start_cycle
from services.ticket.models import Comment, Hold, SequenceCounter, Ticket, Transition
from services.ticket.policy import current_policy
from services.ticket.presentation import calendar_of, present
from services.ticket.schemas import (
    HistoryEntrySchema, RatingSchema, TicketFilterSchema, TicketInputSchema,
)


def create_ticket(uow, payload: dict, find_customer,
                  command_id: str | None = None) -> dict | None:
    """``find_customer(customer_id)`` asks the customer service; it runs before the
    transaction opens, so no database connection waits on another service. A ticket made by
    a ``ticket.create`` command is made once per ``command_id`` (a repeat returns None); a
    request seen again under the same idempotency key returns the ticket it made."""
    data = load_or_422(schema_of(TicketInputSchema), payload)
    key = uow.context.idempotency_key if command_id is None else None
    if key is not None and (made := _made_by(uow, key)) is not None:
        return made
    customer = find_customer(data["customer_id"])
    data.setdefault("owner", customer["owner"])
    if command_id is not None and not uow.claim("tickets.create", command_id):
        return None
    session, now = uow.session, uow.now()
    policy = current_policy(session)
    sequence = next_sequence(session, SequenceCounter, data["customer_id"])
    ticket = Ticket(id=domain.ticket_id(data["customer_id"], sequence), state="pending",
                    escalated=False, on_hold=False, sla_calendar=policy.get("calendar"),
                    created_by=uow.context.actor, created_at=now, updated_at=now,
                    idempotency_key=key, **data)
    session.add(ticket)
    calendar = calendar_of(ticket)
    for clock, target in sla.targets(policy, ticket.category, ticket.priority).items():
        start_cycle(ticket, clock, target, now, calendar)
    session.add(Transition(ticket_id=ticket.id, from_state=None, to_state="pending",
                           note=None, at=now, by=uow.context.actor))
    try:
        session.flush()
    except IntegrityError:
        uow.rollback()
        if key is None:
            raise
        return _made_by(uow, key)  # the same request, made concurrently, got there first
    shown = present(ticket, now)
    uow.emit("ticket.created", {"ticket": shown})
    uow.commit()
    return shown


def _made_by(uow, idempotency_key: str) -> dict | None:
    """The ticket an earlier attempt of the same request made, as the API shows it."""
    ticket = uow.session.scalars(
        select(Ticket).where(Ticket.idempotency_key == idempotency_key)).first()
    return present(ticket, uow.now()) if ticket is not None else None


def find_ticket(session, ticket_id: str, for_update: bool = False) -> Ticket:
    """The ticket or a 404; ``for_update`` locks its row for the rest of the transaction."""
    statement = select(Ticket).where(Ticket.id == ticket_id)
    if for_update:
        statement = statement.with_for_update()
    return one_or_404(session, statement, "Ticket", ticket_id)


def get_ticket(uow, ticket_id: str) -> dict:
    return present(find_ticket(uow.session, ticket_id), uow.now())


def list_tickets(uow, query: dict) -> dict:
    filters = load_or_422(schema_of(TicketFilterSchema), query)
    page, per_page = filters.pop("page"), filters.pop("per_page")
    statement = select(Ticket)
    for name in ("state", "customer_id", "owner", "priority", "category"):
        if name in filters:
            statement = statement.where(getattr(Ticket, name) == filters[name])
    if "breached" in filters:
        statement = statement.where(Ticket.escalated.is_(filters["breached"]))
    total = count(uow.session, statement)
    rows = uow.session.scalars(statement.order_by(Ticket.created_at.desc(), Ticket.id.desc())
                               .offset((page - 1) * per_page).limit(per_page))
    now = uow.now()
    return page_of([present(row, now) for row in rows], total, page, per_page)


def ticket_history(uow, ticket_id: str) -> list[dict]:
    """Transitions, comments, holds and the rating, oldest first."""
    ticket = find_ticket(uow.session, ticket_id)
    session = uow.session
    entries = [{"kind": "transition", "at": row.at, "by": row.by,
                "details": {"from": row.from_state, "to": row.to_state, "note": row.note}}
               for row in session.scalars(select(Transition).where(Transition.ticket_id == ticket.id))]
    entries += [{"kind": "comment", "at": row.at, "by": row.by,
                 "details": {"id": row.id, "body": row.body, "public": row.public}}
                for row in session.scalars(select(Comment).where(Comment.ticket_id == ticket.id))]
    for hold in session.scalars(select(Hold).where(Hold.ticket_id == ticket.id)):
        entries.append({"kind": "hold", "at": hold.started_at, "by": hold.started_by,
                        "details": {"reason": hold.reason}})
        if hold.ended_at is not None:
            held = (hold.ended_at - hold.started_at).total_seconds()
            entries.append({"kind": "resume", "at": hold.ended_at, "by": hold.ended_by,
                            "details": {"held_seconds": held}})
    if ticket.rating is not None:
        rating = schema_of(RatingSchema).dump(ticket.rating)
        entries.append({"kind": "rating", "at": ticket.rating.at, "by": ticket.rating.by,
                        "details": {key: rating[key] for key in ("score", "nps_score", "comment")}})
    entries.sort(key=lambda entry: entry["at"])
    return schema_of(HistoryEntrySchema, many=True).dump(entries)
