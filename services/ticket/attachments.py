"""Files attached to tickets (screenshots, logs, signed forms): the metadata the gateway
hands over once the file is in the attachment store (:mod:`services.common.attachments`).
Attaching is changing the ticket (an archived ticket: 409); an archived ticket's files stay
readable. Like every ticket event, the attachment events carry the ticket."""
from sqlalchemy import select

from services.common import attachments
from services.common.schemas import schema_of
from services.ticket.models import TicketAttachment
from services.ticket.schemas import TicketAttachmentSchema
from services.ticket.presentation import present
from services.ticket.tickets import _lookup, find_ticket


def show(attachment: TicketAttachment) -> dict:
    return schema_of(TicketAttachmentSchema).dump(attachment)


def add_attachment(uow, ticket_id: str, claim: dict) -> dict:
    ticket = find_ticket(uow.session, ticket_id, for_update=True)
    attachment = attachments.new_attachment(TicketAttachment, "tickets", uow, claim,
                                            ticket_id=ticket.id)
    uow.session.add(attachment)
    uow.session.flush()
    shown = show(attachment)
    uow.emit("ticket.attachment_added", {"ticket": present(ticket, uow.now()),
                                         "attachment": shown})
    uow.commit()
    return shown


def list_attachments(uow, ticket_id: str) -> list[dict]:
    _lookup(uow.session, ticket_id)
    rows = uow.session.scalars(select(TicketAttachment)
                               .where(TicketAttachment.ticket_id == ticket_id)
                               .order_by(TicketAttachment.uploaded_at, TicketAttachment.id))
    return [show(row) for row in rows]
