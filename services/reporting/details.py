"""The detail rows of the exports (明细数据), in plain Python: which row each consumed event
writes. Customers converted in the range, tickets created in it with the outcome of their
SLA clocks, ratings with their survey answers, and follow-ups. The store
(:mod:`services.reporting.detail_store`) writes the rows these rules return."""
from dataclasses import dataclass
from datetime import date, datetime

from services.reporting.domain import PRE_DEAL_TYPES, day_of

DETAIL_CLOCKS = ("first_response", "resolution")


@dataclass(frozen=True)
class Row:
    """One write: ``kind`` names the table and how (see the store), ``values`` the columns."""
    kind: str
    values: dict


def rows_of(event_type: str, occurred_at: datetime, data: dict) -> list[Row]:
    """The detail rows one event writes (none for the events the details do not use);
    ``data`` as :func:`services.reporting.schemas.load_event` gives it."""
    if event_type.startswith("customer."):
        return _customer_rows(event_type, day_of(occurred_at), data)
    if event_type == "followup.logged":
        followup = data["followup"]
        return [Row("followup", {key: followup.get(key) for key in (
            "id", "customer_id", "at", "channel", "subject", "outcome", "owner", "feedback",
            "next_action")})]
    if event_type.startswith("ticket."):
        return _ticket_rows(event_type, data)
    return []


def converted(event_type: str, changes: list) -> bool:
    """The event moved the customer from prospect/intent to deal (as the summary counts
    conversions)."""
    if event_type != "customer.updated":
        return False
    change = next((c for c in changes if c["field"] == "type"), None)
    return (change is not None and change["before"] in PRE_DEAL_TYPES
            and change["after"] == "deal")


def _customer_rows(event_type: str, day: date, data: dict) -> list[Row]:
    customer = data["customer"]
    columns = {key: customer.get(key) for key in ("id", "name", "industry", "owner",
                                                  "deal_product", "signed_date", "updated_at")}
    amount = customer.get("deal_amount")  # exact for the figures, a float column here
    columns["deal_amount"] = None if amount is None else float(amount)
    if converted(event_type, data["changes"]):
        return [Row("customer_converted", {**columns, "converted_on": day})]
    return [Row("customer_seen", columns)]


def _ticket_rows(event_type: str, data: dict) -> list[Row]:
    ticket = data["ticket"]
    rows = [Row("ticket", {key: ticket.get(key) for key in (
        "id", "customer_id", "created_at", "title", "service_type", "category", "priority",
        "owner", "state", "updated_at")})]
    if event_type == "ticket.rated" and data["rating"] is not None:
        rating = data["rating"]
        rows.append(Row("rating", {
            "ticket_id": ticket["id"], "customer_id": ticket["customer_id"],
            "service_type": ticket["service_type"], "category": ticket["category"],
            **{key: rating[key] for key in ("at", "score", "quality", "speed", "effectiveness",
                                            "nps_score", "would_cooperate_again", "comment",
                                            "collected_via")},
            "rated_by": rating["by"]}))
    elif event_type in ("ticket.sla_breached", "ticket.sla_stopped") \
            and data["clock"] in DETAIL_CLOCKS:
        outcome = "met" if event_type == "ticket.sla_stopped" and data["met"] else "breached"
        rows.append(Row("clock", {"id": ticket["id"], "clock": data["clock"],
                                  "outcome": outcome}))
    return rows
