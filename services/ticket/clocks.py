"""The SLA clock choreography of a ticket's changes: starting, stopping and restarting clock
cycles, and emitting the warning and breach a cycle owes before it stops or pauses. The
arithmetic lives in :mod:`~services.ticket.sla`; this module writes rows and events."""
from datetime import datetime

from services.ticket import domain, sla
from services.ticket.models import SlaClock, Ticket
from services.ticket.presentation import current_cycle, present


def start_cycle(ticket: Ticket, clock: str, target: int, now: datetime, calendar) -> None:
    previous = current_cycle(ticket, clock)
    row = SlaClock(ticket_id=ticket.id, clock=clock, cycle=previous.cycle + 1 if previous else 1,
                   target_seconds=target, held_seconds=0.0)
    sla.start(row, now, ticket.on_hold, calendar)
    ticket.clocks.append(row)


def _alert_data(clock: SlaClock, now: datetime, calendar) -> dict:
    return {"clock": clock.clock, "due_at": sla.moment_at(clock, 1.0, calendar).isoformat(),
            "target_seconds": clock.target_seconds,
            "elapsed_seconds": round(sla.elapsed(clock, now, calendar))}


def catch_up(uow, ticket: Ticket, clock: SlaClock, now: datetime, calendar) -> None:
    """Emit the warning and breach this cycle owes at ``now`` (each once); a breach escalates."""
    for alert in sla.due_alerts(clock, now, calendar):
        sla.mark_alert(clock, alert, now, calendar)
        if alert == sla.BREACH:
            ticket.escalated = True
        uow.emit(f"ticket.{alert}", {"ticket": present(ticket, now),
                                     **_alert_data(clock, now, calendar)})


def stop_clock(uow, ticket: Ticket, name: str, now: datetime, calendar) -> None:
    clock = current_cycle(ticket, name)
    if clock is None or clock.stopped_at is not None:
        return
    catch_up(uow, ticket, clock, now, calendar)
    sla.stop(clock, now, calendar)
    uow.emit("ticket.sla_stopped", {
        "ticket": present(ticket, now), "clock": name, "started_at": clock.started_at.isoformat(),
        "stopped_at": now.isoformat(), "elapsed_seconds": round(clock.elapsed_seconds),
        "target_seconds": clock.target_seconds, "met": clock.breached_at is None})


def restart_clock(uow, ticket: Ticket, name: str, now: datetime, calendar) -> None:
    previous = current_cycle(ticket, name)
    stop_clock(uow, ticket, name, now, calendar)
    start_cycle(ticket, name, previous.target_seconds, now, calendar)


def public_update(uow, ticket: Ticket, now: datetime, calendar) -> None:
    """A public comment answers the customer and is a progress update."""
    stop_clock(uow, ticket, "first_response", now, calendar)
    if ticket.state in domain.OPEN_STATES:
        restart_clock(uow, ticket, "update", now, calendar)


def pause_for_hold(uow, ticket: Ticket, now: datetime, calendar) -> None:
    """Pause the clocks a hold pauses, emitting first what each owes."""
    for name in sla.PAUSED_BY_HOLD:
        clock = current_cycle(ticket, name)
        if clock is not None and sla.is_running(clock):
            catch_up(uow, ticket, clock, now, calendar)
            sla.pause(clock, now)


def resume_after_hold(ticket: Ticket, now: datetime, calendar) -> None:
    for name in sla.PAUSED_BY_HOLD:
        clock = current_cycle(ticket, name)
        if clock is not None and clock.stopped_at is None and clock.held_since is not None:
            sla.resume(clock, now, calendar)
