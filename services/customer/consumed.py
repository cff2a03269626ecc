"""What the customer service learns from other services' events: ticket activity, which is
contact and keeps a customer's lifecycle status fresh, and the follow-up plan the workflow
service owns.

Each use case applies a batch of delivered payloads (one or more, in delivery order) in one
transaction, each event once (:func:`~services.common.consuming.apply_batch`)."""
from datetime import datetime

from sqlalchemy import bindparam, update

from services.common.consuming import apply_batch
from services.common.events import parse_envelope
from services.common.schemas import load_or_422, schema_of
from services.customer.models import Customer, FollowupPlan
from services.customer.schemas import FollowupPlanSchema

ACTIVITY_CONSUMER = "customers.ticket_activity"
PLAN_CONSUMER = "customers.followup_plan"

_CUSTOMERS = Customer.__table__
# Built once: a customer's last activity moves forward, never back (an older or repeated
# event's time matches no row, so it writes nothing).
_MOVE_FORWARD = (update(_CUSTOMERS)
                 .where(_CUSTOMERS.c.id == bindparam("customer"),
                        _CUSTOMERS.c.last_activity_at < bindparam("at"))
                 .values(last_activity_at=bindparam("at")))


def record_ticket_activity(uow, payloads: list) -> int:
    """Ticket events count as contact: each customer's last activity moves forward to its
    latest ticket event of the batch. Returns how many events were new."""
    envelopes = [parse_envelope(payload) for payload in payloads]
    activity = {envelope["id"]: (envelope["data"]["ticket"]["customer_id"],
                                 datetime.fromisoformat(envelope["occurred_at"]))
                for envelope in envelopes}

    def apply(fresh):
        latest = {}
        for envelope in fresh:
            customer_id, at = activity[envelope["id"]]
            latest[customer_id] = max(at, latest.get(customer_id, at))
        record_activity(uow.session, latest)

    return apply_batch(uow, ACTIVITY_CONSUMER, envelopes, apply)


def record_activity(session, latest: dict[str, datetime]) -> None:
    """Move each customer's last activity forward to ``latest[customer_id]`` (never back):
    one statement per customer, sent together, locking the rows in id order."""
    if not latest:
        return
    session.execute(_MOVE_FORWARD, [{"customer": customer_id, "at": latest[customer_id]}
                                    for customer_id in sorted(latest)])


def apply_followup_plans(uow, payloads: list) -> int:
    """Keep the intervals the workflow service's grade rules use (they own the plan); a
    later plan of the batch overrides an earlier one. Returns how many events were new."""
    envelopes = [parse_envelope(payload) for payload in payloads]
    plans = {envelope["id"]: load_or_422(schema_of(FollowupPlanSchema), envelope["data"]["plan"])
             for envelope in envelopes}

    def apply(fresh):
        for envelope in fresh:
            for grade, days in plans[envelope["id"]].items():
                uow.session.merge(FollowupPlan(grade=grade, interval_days=days))

    return apply_batch(uow, PLAN_CONSUMER, envelopes, apply)
