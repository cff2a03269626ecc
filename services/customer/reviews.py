"""Review of customer records (双人校验 / 三级审核): a new customer, or a change to its phones,
email, budget or deal, is ``pending``; a colleague other than the change's author verifies
it, then a manager or admin approves it. A rejection at either step sends it back to the
author with the note. Review never blocks other work on the customer."""
from services.common.schemas import load_or_422, schema_of
from services.common.versions import bump_version
from services.customer import domain
from services.customer.customers import live_customer, present, record_change
from services.customer.schemas import ReviewInputSchema


def review_customer(uow, customer_id: str, payload: dict) -> dict:
    data = load_or_422(schema_of(ReviewInputSchema), payload)
    decision, note = data["decision"], data.get("note")
    session, now, actor = uow.session, uow.now(), uow.context.actor
    customer = live_customer(session, customer_id, for_update=True)
    domain.check_review_step(uow.context, customer.review, decision, customer.review_author,
                             customer.verified_by)
    changes = [{"field": "review", "before": customer.review, "after": decision}]
    if note != customer.review_note:
        changes.append({"field": "review_note", "before": customer.review_note, "after": note})
    customer.review, customer.review_note = decision, note
    if decision == "verified":
        customer.verified_by = actor
    customer.updated_at = now
    bump_version(customer)
    record_change(uow, customer.id, decision, changes)
    shown = present(customer, now)
    uow.emit("customer.reviewed", {
        "customer": shown,
        "review": {"decision": decision, "by": actor, "author": customer.review_author,
                   "note": note, "before": changes[0]["before"]},
        "changes": changes})
    uow.commit()
    return shown
