"""The customer's rating of a finished ticket: recorded by an agent who collected it (by
phone, in a meeting...) or by the customer through the survey; at most one per ticket."""
from datetime import datetime

from services.common.schemas import load_or_422, schema_of
from services.common.versions import bump_version
from services.ticket import domain
from services.ticket.models import Rating, Ticket
from services.ticket.presentation import present
from services.ticket.schemas import RatingInputSchema, RatingSchema
from services.ticket.tickets import find_ticket


def record_rating(uow, ticket: Ticket, answers: dict, by: str, now: datetime) -> dict:
    """Add the rating and emit ``ticket.rated`` with every answer; a score of 2 or less
    also emits ``ticket.dissatisfied`` (the owner and their manager follow it up)."""
    domain.check_can_rate(ticket.state, ticket.rating is not None)
    ticket.updated_at = now
    bump_version(ticket)
    ticket.rating = Rating(ticket_id=ticket.id, at=now, by=by, **answers)
    shown = schema_of(RatingSchema).dump(ticket.rating)
    presented = present(ticket, now)
    uow.emit("ticket.rated", {"ticket": presented, "rating": shown})
    if domain.is_dissatisfied(ticket.rating.score):
        uow.emit("ticket.dissatisfied", {"ticket": presented, "rating": shown})
    return shown


def rate_ticket(uow, ticket_id: str, payload: dict) -> dict:
    data = load_or_422(schema_of(RatingInputSchema), payload)
    ticket = find_ticket(uow.session, ticket_id, for_update=True)
    shown = record_rating(uow, ticket, data, uow.context.actor, uow.now())
    uow.commit()
    return shown
