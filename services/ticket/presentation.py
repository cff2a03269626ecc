"""How a ticket is shown: the API's view of a ticket with its ``sla`` block and rating."""
from datetime import datetime

from services.common.schemas import schema_of
from services.ticket import sla
from services.ticket.models import SlaClock, Ticket
from services.ticket.schemas import TicketSchema


def calendar_of(ticket: Ticket) -> sla.Calendar | None:
    return sla.Calendar.from_policy(ticket.sla_calendar)


def current_cycle(ticket: Ticket, clock: str) -> SlaClock | None:
    cycles = [row for row in ticket.clocks if row.clock == clock]
    return max(cycles, key=lambda row: row.cycle) if cycles else None


def present(ticket: Ticket, now: datetime) -> dict:
    """The ticket as the API shows it, with its ``sla`` block and rating."""
    calendar = calendar_of(ticket)
    values = {name: getattr(ticket, name) for name in schema_of(TicketSchema).fields if name != "sla"}
    values["sla"] = {name: sla.summary(cycle, now, calendar) for name in sla.CLOCKS
                     if (cycle := current_cycle(ticket, name)) is not None}
    return schema_of(TicketSchema).dump(values)
