"""The customer's rating of a finished ticket."""
from services.common.schemas import load_or_422, schema_of
from services.ticket import domain
from services.ticket.models import Rating
from services.ticket.presentation import present
from services.ticket.schemas import RatingInputSchema, RatingSchema
from services.ticket.tickets import find_ticket
from services.ticket.working import touch


def rate_ticket(uow, ticket_id: str, payload: dict) -> dict:
    data = load_or_422(schema_of(RatingInputSchema), payload)
    ticket = find_ticket(uow.session, ticket_id, for_update=True)
    domain.check_can_rate(ticket.state, ticket.rating is not None)
    now = touch(uow, ticket)
    ticket.rating = Rating(ticket_id=ticket.id, at=now, by=uow.context.actor, **data)
    shown = schema_of(RatingSchema).dump(ticket.rating)
    uow.emit("ticket.rated", {"ticket": present(ticket, now), "rating": shown})
    uow.commit()
    return shown
