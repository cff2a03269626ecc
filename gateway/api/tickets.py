from flask import Blueprint

from gateway.api.endpoint import endpoint, if_match, json_body, query_args, rpc, tagged
from services.ticket.domain import TRANSITIONS
from services.ticket.schemas import (
    CommentInputSchema, CommentSchema, HoldInputSchema, RatingInputSchema, RatingSchema,
    TicketFilterSchema, TicketHistoryEntrySchema, TicketInputSchema, TicketSchema,
    TicketUpdateSchema, TransitionInputSchema,
)

blueprint = Blueprint("tickets", __name__)
MOVES = ", ".join(f"{source} → {target}" for source, target in TRANSITIONS)


@endpoint(blueprint, "/tickets", "POST", "Open a ticket for a customer; it starts pending.",
          "tickets.write", body=TicketInputSchema, response=TicketSchema, status=201,
          errors=(422, 503))
def create_ticket():
    return rpc("tickets", "create", json_body())


@endpoint(blueprint, "/tickets", "GET", "List tickets.", "tickets.read",
          query=TicketFilterSchema, response=TicketSchema, paged=True, errors=(422,))
def list_tickets():
    return rpc("tickets", "list", query_args())


@endpoint(blueprint, "/tickets/<ticket_id>", "GET", "One ticket with its SLA clocks.",
          "tickets.read", response=TicketSchema, errors=(404,))
def get_ticket(ticket_id):
    return tagged(rpc("tickets", "get", ticket_id))


@endpoint(blueprint, "/tickets/<ticket_id>", "PATCH",
          "Change owner, priority, title, description or the feedback form's fields.",
          "tickets.write", body=TicketUpdateSchema, response=TicketSchema,
          errors=(404, 412, 422))
def update_ticket(ticket_id):
    return tagged(rpc("tickets", "update", ticket_id, json_body(), expected_version=if_match()))


@endpoint(blueprint, "/tickets/<ticket_id>/transitions", "POST",
          f"Move the ticket ({MOVES}); any other move is 409 naming the allowed ones.",
          "tickets.write", body=TransitionInputSchema, response=TicketSchema,
          errors=(404, 409, 412, 422))
def transition_ticket(ticket_id):
    return tagged(rpc("tickets", "transition", ticket_id, json_body(),
                      expected_version=if_match()))


@endpoint(blueprint, "/tickets/<ticket_id>/comments", "POST",
          "Comment; a public comment is a response and a progress update.", "tickets.write",
          body=CommentInputSchema, response=CommentSchema, status=201, errors=(404, 422))
def comment_ticket(ticket_id):
    return rpc("tickets", "comment", ticket_id, json_body())


@endpoint(blueprint, "/tickets/<ticket_id>/history", "GET",
          "Transitions, comments, holds, the rating and the customer notices, oldest first.",
          "tickets.read", response=TicketHistoryEntrySchema, many=True, errors=(404,))
def ticket_history(ticket_id):
    return rpc("tickets", "history", ticket_id)


@endpoint(blueprint, "/tickets/<ticket_id>/hold", "POST",
          "Put an in_progress ticket on hold; its resolution and update clocks pause.",
          "tickets.write", body=HoldInputSchema, response=TicketSchema,
          errors=(404, 409, 412, 422))
def hold_ticket(ticket_id):
    return tagged(rpc("tickets", "hold", ticket_id, json_body(), expected_version=if_match()))


@endpoint(blueprint, "/tickets/<ticket_id>/resume", "POST",
          "End the hold; the held time is credited to the clocks.", "tickets.write",
          response=TicketSchema, errors=(404, 409, 412))
def resume_ticket(ticket_id):
    return tagged(rpc("tickets", "resume", ticket_id, expected_version=if_match()))


@endpoint(blueprint, "/tickets/<ticket_id>/rating", "POST",
          "Record the rating an agent collected (collected_via phone, email, meeting, visit, "
          "other; score 1–5, quality/speed/effectiveness 1–5, nps_score 0–10, "
          "would_cooperate_again); a ticket has at most one rating (409).", "tickets.write",
          body=RatingInputSchema, response=RatingSchema, status=201, errors=(404, 409, 422))
def rate_ticket(ticket_id):
    return rpc("tickets", "rate", ticket_id, json_body())
