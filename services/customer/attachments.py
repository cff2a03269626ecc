"""Files attached to customers and follow-ups (licence scans, contracts, business cards,
proposals): the metadata the gateway hands over once the file is in the attachment store
(:mod:`services.common.attachments`). Attaching follows the rule of changing the customer;
reading is everyone's, also of a deleted customer's files until retention erases them."""
from sqlalchemy import select

from services.common import attachments
from services.common.errors import NotFound
from services.common.schemas import schema_of
from services.customer import domain
from services.customer.customers import known_customer, live_customer
from services.customer.models import CustomerAttachment, Followup
from services.customer.schemas import CustomerAttachmentSchema


def show(attachment: CustomerAttachment) -> dict:
    return schema_of(CustomerAttachmentSchema).dump(attachment)


def _followup_of(session, customer_id: str, followup_id) -> Followup:
    followup = None
    if str(followup_id).isdigit():
        followup = session.get(Followup, int(followup_id))
    if followup is None or followup.customer_id != customer_id:
        raise NotFound(f"Follow-up {followup_id} of customer {customer_id} does not exist.",
                       {"id": followup_id, "customer_id": customer_id})
    return followup


def add_attachment(uow, customer_id: str, claim: dict, followup_id=None) -> dict:
    session = uow.session
    customer = live_customer(session, customer_id, for_update=True)
    domain.check_may_change(uow.context, customer.id, customer.owner)
    parent = {"customer_id": customer.id}
    if followup_id is not None:
        parent["followup_id"] = _followup_of(session, customer.id, followup_id).id
    attachment = attachments.new_attachment(CustomerAttachment, "customers", uow, claim,
                                            **parent)
    session.add(attachment)
    session.flush()
    shown = show(attachment)
    uow.emit("customer.attachment_added", {"attachment": shown})
    uow.commit()
    return shown


def list_attachments(uow, customer_id: str, followup_id=None) -> list[dict]:
    """A customer's files, its follow-ups' included (each names its ``followup_id``), or
    one follow-up's; oldest first."""
    session = uow.session
    known_customer(session, customer_id)
    statement = select(CustomerAttachment).where(CustomerAttachment.customer_id == customer_id)
    if followup_id is not None:
        statement = statement.where(
            CustomerAttachment.followup_id == _followup_of(session, customer_id, followup_id).id)
    rows = session.scalars(statement.order_by(CustomerAttachment.uploaded_at,
                                              CustomerAttachment.id))
    return [show(row) for row in rows]
