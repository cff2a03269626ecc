"""Event envelopes shaped exactly as ``docs/events.md`` describes them, for feeding the
reporting service known histories: its tests and ``bench/report_summary.py`` use them.

:class:`EventStream` keeps each customer's and ticket's latest snapshot (the resources as
the HTTP API shows them, JSON-ready) and records one envelope per call.
"""
from datetime import datetime, timedelta

from services.common.events import make_envelope

SOURCES = {"customer": "customers", "followup": "customers", "ticket": "tickets"}
SLA_TARGETS = {"first_response": 7200, "resolution": 86400, "update": 172800}


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class EventStream:
    def __init__(self):
        self.envelopes: list[dict] = []
        self.customers: dict[str, dict] = {}
        self.tickets: dict[str, dict] = {}
        self._followups = 0

    def _emit(self, event_type: str, data: dict, at: datetime) -> dict:
        source = SOURCES[event_type.split(".")[0]]
        envelope = make_envelope(event_type, data, source, "simulated", at)
        self.envelopes.append(envelope)
        return envelope

    # customers

    def create_customer(self, customer_id: str, at: datetime, type="prospect", grade="C",
                        industry="TECH", source=None, **fields) -> dict:
        customer = {
            "id": customer_id, "name": f"Customer {customer_id}", "contact_name": None,
            "phone": None, "email": None, "address": None, "industry": industry, "type": type,
            "grade": grade, "source": source, "employees": None, "annual_revenue": None,
            "first_contact_date": None, "tags": [], "notes": None, "owner": "sales",
            "deal_amount": None, "deal_product": None, "signed_date": None,
            "created_at": _iso(at), "updated_at": _iso(at), "last_activity_at": _iso(at),
            "next_followup_due_at": _iso(at + timedelta(days=30)), "status": "active",
            "value_tier": "potential", **fields}
        self.customers[customer_id] = customer
        return self._emit("customer.created", {"customer": dict(customer)}, at)

    def update_customer(self, customer_id: str, at: datetime, **changes) -> dict:
        before = self.customers[customer_id]
        after = {**before, **changes, "updated_at": _iso(at)}
        self.customers[customer_id] = after
        listed = [{"field": name, "before": before.get(name), "after": value}
                  for name, value in changes.items() if before.get(name) != value]
        return self._emit("customer.updated", {"customer": dict(after), "changes": listed,
                                               "contact_changed": False}, at)

    def convert(self, customer_id: str, at: datetime, amount=120000.0) -> dict:
        return self.update_customer(customer_id, at, type="deal", deal_amount=amount,
                                    deal_product="Support plan",
                                    signed_date=at.date().isoformat())

    def delete_customer(self, customer_id: str, at: datetime) -> dict:
        customer = {**self.customers.pop(customer_id), "updated_at": _iso(at)}
        return self._emit("customer.deleted", {"customer": customer}, at)

    def log_followup(self, customer_id: str, at: datetime, outcome="positive") -> dict:
        self._followups += 1
        followup = {"id": self._followups, "customer_id": customer_id, "at": _iso(at),
                    "channel": "phone", "subject": "Call", "content": None, "feedback": None,
                    "outcome": outcome, "next_action": None, "next_followup_at": None,
                    "owner": "sales", "created_at": _iso(at), "created_by": "sales"}
        return self._emit("followup.logged", {"followup": followup,
                                              "customer": dict(self.customers[customer_id])}, at)

    # tickets

    def create_ticket(self, ticket_id: str, customer_id: str, at: datetime,
                      service_type="aftersales", category="inquiry", priority="medium",
                      **fields) -> dict:
        self.tickets[ticket_id] = {
            "id": ticket_id, "customer_id": customer_id, "service_type": service_type,
            "category": category, "priority": priority, "title": "Printer jams",
            "description": None, "owner": "support", "state": "pending", "resolution": None,
            "solution": None, "expected_resolution_at": None, "created_by": "support",
            "created_at": _iso(at), "updated_at": _iso(at), "escalated": False,
            "on_hold": False, "rating": None, "status_label": "pending", "channel": None,
            "department": None, "late_entry": False, "received_at": _iso(at),
            "sla": {clock: {"due_at": _iso(at + timedelta(seconds=target)),
                            "remaining_seconds": target, "status": "running"}
                    for clock, target in SLA_TARGETS.items()}, **fields}
        return self._emit("ticket.created", {"ticket": self._ticket(ticket_id)}, at)

    def _ticket(self, ticket_id: str, at: datetime | None = None, **changes) -> dict:
        ticket = self.tickets[ticket_id]
        ticket.update(changes)
        if at is not None:
            ticket["updated_at"] = _iso(at)
        return dict(ticket)

    def transition(self, ticket_id: str, to: str, at: datetime,
                   status_label: str | None = None) -> dict:
        source = self.tickets[ticket_id]["state"]
        extra = {"solution": "Fixed", "resolution": "resolved"} if to == "done" else {}
        extra["status_label"] = status_label or to
        return self._emit("ticket.transitioned", {
            "ticket": self._ticket(ticket_id, at, state=to, **extra), "from": source, "to": to,
            "note": None, "by": "support", "at": _iso(at)}, at)

    def stop_clock(self, ticket_id: str, clock: str, at: datetime, elapsed_seconds: float,
                   met: bool = True, state: str | None = None) -> dict:
        """A clock cycle ended; ``state`` moves the ticket in the same change (the ticket
        service stops clocks inside the transition that stops them)."""
        changes = {"state": state, "status_label": state} if state else {}
        return self._emit("ticket.sla_stopped", {
            "ticket": self._ticket(ticket_id, at if state else None, **changes), "clock": clock,
            "started_at": _iso(at - timedelta(seconds=elapsed_seconds)), "stopped_at": _iso(at),
            "elapsed_seconds": elapsed_seconds, "target_seconds": SLA_TARGETS[clock],
            "met": met}, at)

    def breach(self, ticket_id: str, clock: str, due_at: datetime) -> dict:
        return self._emit("ticket.sla_breached", {
            "ticket": self._ticket(ticket_id, escalated=True), "clock": clock,
            "due_at": _iso(due_at), "target_seconds": SLA_TARGETS[clock],
            "elapsed_seconds": SLA_TARGETS[clock]}, due_at)

    def rate(self, ticket_id: str, at: datetime, score: int, nps_score: int | None = None) -> dict:
        rating = {"score": score, "nps_score": nps_score, "comment": None, "by": "support",
                  "at": _iso(at)}
        return self._emit("ticket.rated", {"ticket": self._ticket(ticket_id, at, rating=rating),
                                           "rating": rating}, at)
