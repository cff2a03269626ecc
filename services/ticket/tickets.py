"""The ticket service's use cases: each takes a unit of work, applies the rules of
:mod:`~services.ticket.domain` and :mod:`~services.ticket.sla`, writes the change, its
history and its events in one transaction, and commits."""
import copy
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from services.common.db import count, next_sequence, one_or_404
from services.common.schemas import load_or_422, page_of, schema_of
from services.ticket import domain, sla
from services.ticket.models import (
    Comment, Hold, Rating, SequenceCounter, SlaClock, SlaPolicy, Ticket, Transition,
)
from services.ticket.schemas import (
    CommentInputSchema, CommentSchema, HistoryEntrySchema, HoldInputSchema, RatingInputSchema,
    RatingSchema,
    SlaPolicySchema, TicketFilterSchema, TicketInputSchema, TicketSchema, TicketUpdateSchema,
    TransitionInputSchema,
)

POLICY_ROW = 1
SWEEP_BATCH = 200
HISTOGRAM_BUCKETS = (60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 259200,
                     604800)


# --- presentation ---------------------------------------------------------------------

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


# --- policy -------------------------------------------------------------------------------

def current_policy(session) -> dict:
    row = session.get(SlaPolicy, POLICY_ROW)
    return row.policy if row is not None else copy.deepcopy(sla.DEFAULT_POLICY)


def set_policy(uow, payload: dict) -> dict:
    schema = schema_of(SlaPolicySchema)
    policy = schema.dump(load_or_422(schema, payload))
    uow.session.merge(SlaPolicy(id=POLICY_ROW, policy=policy, updated_at=uow.now(),
                                updated_by=uow.context.actor))
    uow.commit()
    return policy


# --- creating and reading -----------------------------------------------------------------

def create_ticket(uow, payload: dict, find_customer,
                  command_id: str | None = None) -> dict | None:
    """``find_customer(customer_id)`` asks the customer service; it runs before the
    transaction opens, so no database connection waits on another service. A ticket made by
    a ``ticket.create`` command is made once per ``command_id`` (a repeat returns None); a
    request seen again under the same idempotency key returns the ticket it made."""
    data = load_or_422(schema_of(TicketInputSchema), payload)
    key = uow.context.idempotency_key if command_id is None else None
    if key is not None and (made := _made_by(uow, key)) is not None:
        return made
    customer = find_customer(data["customer_id"])
    data.setdefault("owner", customer["owner"])
    if command_id is not None and not uow.claim("tickets.create", command_id):
        return None
    session, now = uow.session, uow.now()
    policy = current_policy(session)
    sequence = next_sequence(session, SequenceCounter, data["customer_id"])
    ticket = Ticket(id=domain.ticket_id(data["customer_id"], sequence), state="pending",
                    escalated=False, on_hold=False, sla_calendar=policy.get("calendar"),
                    created_by=uow.context.actor, created_at=now, updated_at=now,
                    idempotency_key=key, **data)
    session.add(ticket)
    calendar = calendar_of(ticket)
    for clock, target in sla.targets(policy, ticket.category, ticket.priority).items():
        _start_cycle(ticket, clock, target, now, calendar)
    session.add(Transition(ticket_id=ticket.id, from_state=None, to_state="pending",
                           note=None, at=now, by=uow.context.actor))
    try:
        session.flush()
    except IntegrityError:
        uow.rollback()
        if key is None:
            raise
        return _made_by(uow, key)  # the same request, made concurrently, got there first
    shown = present(ticket, now)
    uow.emit("ticket.created", {"ticket": shown})
    uow.commit()
    return shown


def _made_by(uow, idempotency_key: str) -> dict | None:
    """The ticket an earlier attempt of the same request made, as the API shows it."""
    ticket = uow.session.scalars(
        select(Ticket).where(Ticket.idempotency_key == idempotency_key)).first()
    return present(ticket, uow.now()) if ticket is not None else None


def _ticket(session, ticket_id: str, for_update: bool = False) -> Ticket:
    statement = select(Ticket).where(Ticket.id == ticket_id)
    if for_update:
        statement = statement.with_for_update()
    return one_or_404(session, statement, "Ticket", ticket_id)


def get_ticket(uow, ticket_id: str) -> dict:
    return present(_ticket(uow.session, ticket_id), uow.now())


def list_tickets(uow, query: dict) -> dict:
    filters = load_or_422(schema_of(TicketFilterSchema), query)
    page, per_page = filters.pop("page"), filters.pop("per_page")
    statement = select(Ticket)
    for name in ("state", "customer_id", "owner", "priority", "category"):
        if name in filters:
            statement = statement.where(getattr(Ticket, name) == filters[name])
    if "breached" in filters:
        statement = statement.where(Ticket.escalated.is_(filters["breached"]))
    total = count(uow.session, statement)
    rows = uow.session.scalars(statement.order_by(Ticket.created_at.desc(), Ticket.id.desc())
                               .offset((page - 1) * per_page).limit(per_page))
    now = uow.now()
    return page_of([present(row, now) for row in rows], total, page, per_page)


# --- SLA clock plumbing -------------------------------------------------------------------

def _start_cycle(ticket: Ticket, clock: str, target: int, now: datetime, calendar) -> None:
    previous = current_cycle(ticket, clock)
    row = SlaClock(clock=clock, cycle=previous.cycle + 1 if previous else 1,
                   target_seconds=target, held_seconds=0.0)
    sla.start(row, now, ticket.on_hold, calendar)
    ticket.clocks.append(row)


def _alert_data(clock: SlaClock, now: datetime, calendar) -> dict:
    return {"clock": clock.clock, "due_at": sla.moment_at(clock, 1.0, calendar).isoformat(),
            "target_seconds": clock.target_seconds,
            "elapsed_seconds": round(sla.elapsed(clock, now, calendar))}


def _catch_up(uow, ticket: Ticket, clock: SlaClock, now: datetime, calendar) -> None:
    """Emit the warning and breach this cycle owes at ``now`` (each once); a breach escalates."""
    for alert in sla.due_alerts(clock, now, calendar):
        sla.mark_alert(clock, alert, now, calendar)
        if alert == sla.BREACH:
            ticket.escalated = True
        uow.emit(f"ticket.{alert}", {"ticket": present(ticket, now),
                                     **_alert_data(clock, now, calendar)})


def _stop_clock(uow, ticket: Ticket, name: str, now: datetime, calendar) -> None:
    clock = current_cycle(ticket, name)
    if clock is None or clock.stopped_at is not None:
        return
    _catch_up(uow, ticket, clock, now, calendar)
    sla.stop(clock, now, calendar)
    uow.emit("ticket.sla_stopped", {
        "ticket": present(ticket, now), "clock": name, "started_at": clock.started_at.isoformat(),
        "stopped_at": now.isoformat(), "elapsed_seconds": round(clock.elapsed_seconds),
        "target_seconds": clock.target_seconds, "met": clock.breached_at is None})


def _restart_clock(uow, ticket: Ticket, name: str, now: datetime, calendar) -> None:
    previous = current_cycle(ticket, name)
    _stop_clock(uow, ticket, name, now, calendar)
    _start_cycle(ticket, name, previous.target_seconds, now, calendar)


def _public_update(uow, ticket: Ticket, now: datetime, calendar) -> None:
    """A public comment answers the customer and is a progress update."""
    _stop_clock(uow, ticket, "first_response", now, calendar)
    if ticket.state in domain.OPEN_STATES:
        _restart_clock(uow, ticket, "update", now, calendar)


# --- working a ticket ---------------------------------------------------------------------

def _touch(uow, ticket: Ticket) -> datetime:
    ticket.updated_at = uow.now()
    return ticket.updated_at


def update_ticket(uow, ticket_id: str, payload: dict) -> dict:
    """Owner, priority, title, description. Running clocks keep their targets."""
    data = load_or_422(schema_of(TicketUpdateSchema), payload)
    ticket = _ticket(uow.session, ticket_id, for_update=True)
    changes = [{"field": name, "before": getattr(ticket, name), "after": value}
               for name, value in data.items() if getattr(ticket, name) != value]
    if not changes:
        uow.rollback()
        return present(ticket, uow.now())
    previous_owner = ticket.owner
    for change in changes:
        setattr(ticket, change["field"], change["after"])
    now = _touch(uow, ticket)
    shown = present(ticket, now)
    uow.emit("ticket.updated", {"ticket": shown, "changes": changes})
    if ticket.owner != previous_owner:
        uow.emit("ticket.assigned", {"ticket": shown, "previous_owner": previous_owner})
    uow.commit()
    return shown


def transition_ticket(uow, ticket_id: str, payload: dict) -> dict:
    data = load_or_422(schema_of(TransitionInputSchema), payload)
    ticket = _ticket(uow.session, ticket_id, for_update=True)
    rule = domain.check_transition(ticket.state, data["to"], data)
    now, calendar, source = _touch(uow, ticket), calendar_of(ticket), ticket.state
    if ticket.on_hold:
        _end_hold(uow, ticket, now, calendar)
    ticket.state = data["to"]
    if rule.requires:
        ticket.solution, ticket.resolution = data["solution"], data["resolution"]
    for name in rule.stops:
        _stop_clock(uow, ticket, name, now, calendar)
    for name in rule.starts:
        _start_cycle(ticket, name, current_cycle(ticket, name).target_seconds, now, calendar)
    if ticket.state in domain.OPEN_STATES and "update" not in rule.starts:
        _restart_clock(uow, ticket, "update", now, calendar)
    note, actor = data.get("note"), uow.context.actor
    uow.session.add(Transition(ticket_id=ticket.id, from_state=source, to_state=ticket.state,
                               note=note, at=now, by=actor))
    shown = present(ticket, now)
    uow.emit("ticket.transitioned", {"ticket": shown, "from": source, "to": ticket.state,
                                     "note": note, "by": actor, "at": now.isoformat()})
    uow.commit()
    return shown


def add_comment(uow, ticket_id: str, payload: dict) -> dict:
    data = load_or_422(schema_of(CommentInputSchema), payload)
    ticket = _ticket(uow.session, ticket_id, for_update=True)
    now = _touch(uow, ticket)
    comment = Comment(ticket_id=ticket.id, at=now, by=uow.context.actor, **data)
    uow.session.add(comment)
    if comment.public:
        _public_update(uow, ticket, now, calendar_of(ticket))
    uow.session.flush()
    shown = schema_of(CommentSchema).dump(comment)
    uow.emit("ticket.commented", {"ticket": present(ticket, now), "comment": shown})
    uow.commit()
    return shown


def hold_ticket(uow, ticket_id: str, payload: dict) -> dict:
    """待跟进: pause the resolution and update clocks while waiting for the customer."""
    data = load_or_422(schema_of(HoldInputSchema), payload)
    ticket = _ticket(uow.session, ticket_id, for_update=True)
    domain.check_can_hold(ticket.state, ticket.on_hold)
    now, calendar = _touch(uow, ticket), calendar_of(ticket)
    for name in sla.PAUSED_BY_HOLD:
        clock = current_cycle(ticket, name)
        if clock is not None and sla.is_running(clock):
            _catch_up(uow, ticket, clock, now, calendar)
            sla.pause(clock, now)
    ticket.on_hold = True
    uow.session.add(Hold(ticket_id=ticket.id, reason=data["reason"], started_at=now,
                         started_by=uow.context.actor))
    shown = present(ticket, now)
    uow.emit("ticket.held", {"ticket": shown, "reason": data["reason"]})
    uow.commit()
    return shown


def _end_hold(uow, ticket: Ticket, now: datetime, calendar) -> None:
    for name in sla.PAUSED_BY_HOLD:
        clock = current_cycle(ticket, name)
        if clock is not None and clock.stopped_at is None and clock.held_since is not None:
            sla.resume(clock, now, calendar)
    ticket.on_hold = False
    hold = uow.session.scalars(select(Hold).where(Hold.ticket_id == ticket.id,
                                                  Hold.ended_at.is_(None))).one()
    hold.ended_at, hold.ended_by = now, uow.context.actor
    held_seconds = round((now - hold.started_at).total_seconds())
    uow.emit("ticket.resumed", {"ticket": present(ticket, now), "held_seconds": held_seconds})


def resume_ticket(uow, ticket_id: str) -> dict:
    ticket = _ticket(uow.session, ticket_id, for_update=True)
    domain.check_can_resume(ticket.on_hold, ticket.state)
    now = _touch(uow, ticket)
    _end_hold(uow, ticket, now, calendar_of(ticket))
    uow.commit()
    return present(ticket, now)


def rate_ticket(uow, ticket_id: str, payload: dict) -> dict:
    data = load_or_422(schema_of(RatingInputSchema), payload)
    ticket = _ticket(uow.session, ticket_id, for_update=True)
    domain.check_can_rate(ticket.state, ticket.rating is not None)
    now = _touch(uow, ticket)
    ticket.rating = Rating(ticket_id=ticket.id, at=now, by=uow.context.actor, **data)
    shown = schema_of(RatingSchema).dump(ticket.rating)
    uow.emit("ticket.rated", {"ticket": present(ticket, now), "rating": shown})
    uow.commit()
    return shown


def ticket_history(uow, ticket_id: str) -> list[dict]:
    """Transitions, comments, holds and the rating, oldest first."""
    ticket = _ticket(uow.session, ticket_id)
    session = uow.session
    entries = [{"kind": "transition", "at": row.at, "by": row.by,
                "details": {"from": row.from_state, "to": row.to_state, "note": row.note}}
               for row in session.scalars(select(Transition).where(Transition.ticket_id == ticket.id))]
    entries += [{"kind": "comment", "at": row.at, "by": row.by,
                 "details": {"id": row.id, "body": row.body, "public": row.public}}
                for row in session.scalars(select(Comment).where(Comment.ticket_id == ticket.id))]
    for hold in session.scalars(select(Hold).where(Hold.ticket_id == ticket.id)):
        entries.append({"kind": "hold", "at": hold.started_at, "by": hold.started_by,
                        "details": {"reason": hold.reason}})
        if hold.ended_at is not None:
            held = (hold.ended_at - hold.started_at).total_seconds()
            entries.append({"kind": "resume", "at": hold.ended_at, "by": hold.ended_by,
                            "details": {"held_seconds": held}})
    if ticket.rating is not None:
        rating = schema_of(RatingSchema).dump(ticket.rating)
        entries.append({"kind": "rating", "at": ticket.rating.at, "by": ticket.rating.by,
                        "details": {key: rating[key] for key in ("score", "nps_score", "comment")}})
    entries.sort(key=lambda entry: entry["at"])
    return schema_of(HistoryEntrySchema, many=True).dump(entries)


# --- the sweep and the figures --------------------------------------------------------------

def due_clocks_query(now: datetime, limit: int):
    """The sweep's query: due clock cycles by the ``next_check_at`` index, claimed together
    with their tickets; rows another sweeper (or a request) holds are skipped."""
    return (select(SlaClock, Ticket).join(Ticket, SlaClock.ticket_id == Ticket.id)
            .where(SlaClock.next_check_at <= now).order_by(SlaClock.next_check_at).limit(limit)
            .with_for_update(skip_locked=True, of=[SlaClock.__table__, Ticket.__table__]))


def sweep(uow, limit: int = SWEEP_BATCH) -> int:
    """Emit the SLA warnings and breaches due now; returns how many clock cycles were due."""
    now = uow.now()
    rows = uow.session.execute(due_clocks_query(now, limit)).all()
    for clock, ticket in rows:
        calendar = calendar_of(ticket)
        _catch_up(uow, ticket, clock, now, calendar)
        clock.next_check_at = sla.next_check(clock, calendar)
    uow.commit()
    return len(rows)


def _histogram(session, clock: str) -> dict:
    elapsed = SlaClock.elapsed_seconds
    columns = [func.count(), func.coalesce(func.sum(elapsed), 0.0)]
    columns += [func.coalesce(func.sum(case((elapsed <= bound, 1), else_=0)), 0)
                for bound in HISTOGRAM_BUCKETS]
    row = session.execute(select(*columns).where(SlaClock.clock == clock,
                                                 SlaClock.stopped_at.is_not(None))).one()
    return {"count": row[0], "sum": float(row[1]),
            "buckets": [[bound, int(value)] for bound, value in zip(HISTOGRAM_BUCKETS, row[2:])]}


def metrics(uow) -> dict:
    """Figures for ``/metrics``: tickets by state, SLA alerts by clock (totals so far) and the
    distributions of first-response and resolution times."""
    session = uow.session
    by_state = dict(session.execute(select(Ticket.state, func.count()).group_by(Ticket.state)).all())
    alerts = session.execute(select(SlaClock.clock, func.count(SlaClock.warned_at),
                                    func.count(SlaClock.breached_at)).group_by(SlaClock.clock)).all()
    figures = {
        "tickets_by_state": {state: by_state.get(state, 0) for state in domain.STATES},
        "sla_warnings": {clock: 0 for clock in sla.CLOCKS},
        "sla_breaches": {clock: 0 for clock in sla.CLOCKS},
        "first_response_seconds": _histogram(session, "first_response"),
        "resolution_seconds": _histogram(session, "resolution"),
    }
    for clock, warned, breached in alerts:
        figures["sla_warnings"][clock], figures["sla_breaches"][clock] = warned, breached
    uow.rollback()
    return figures
