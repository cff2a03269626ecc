"""The workflow's events in batches, on a fresh PostgreSQL database with the shipped rules,
beside a twin database that takes the same events one by one through the service's entrypoint
(Nameko's ``worker_factory`` with real units of work): every table ends alike, each
(rule, event) makes its task once, a completion that comes first is remembered, and a payload
that cannot be read fails the whole batch before anything is written."""
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.config import load_settings
from services.common.errors import ValidationFailed
from services.common.events import make_envelope
from services.workflow import dryrun, learning, models, rulebook
from services.workflow.options import WorkflowOptions
from services.workflow.service import WorkflowService
from tests.support.twins import twin_worlds

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


@pytest.fixture
def twins(databases):
    worlds = twin_worlds(databases, "workflow", models, "workflow", START)
    for world in worlds:
        rulebook.ensure_defaults(world.uow())
    yield worlds
    for world in worlds:
        world.close()


@pytest.fixture
def options():
    return WorkflowOptions.from_settings(load_settings())


def event(event_type: str, data: dict, at: datetime, source: str) -> dict:
    return make_envelope(event_type, data, source, uuid.uuid4().hex, at)


def customer(event_type: str, at: datetime, **fields) -> dict:
    shown = {"id": "2026-TECH-00001", "name": "Acme", "owner": "lina", "grade": "B",
             "type": "intent", "value_tier": "potential", "industry": "TECH",
             "last_activity_at": at.isoformat(), **fields}
    return event(event_type, {"customer": shown, "changes": []}, at, "customers")


def ticket(event_type: str, ticket_id: str, at: datetime, **data) -> dict:
    shown = {"id": ticket_id, "customer_id": "2026-TECH-00001", "owner": "wang", "state": "done",
             "priority": "medium", "category": "inquiry", "service_type": "aftersales"}
    return event(event_type, {"ticket": shown, **data}, at, "tickets")


def mixed_events() -> list[dict]:
    """A user; a customer made a deal (two rules make tasks, schedules start) and moved to
    grade A, with an older update delivered late; a rating delivered before the done event
    it completes the task of; another ticket done and still open."""
    return [
        event("user.created", {"user": {"username": "lina", "role": "sales", "team": "north",
                                        "active": True}}, START, "gateway"),
        customer("customer.created", START, type="deal"),
        customer("customer.updated", START + 2 * HOUR, type="deal", grade="A"),
        customer("customer.updated", START + HOUR, type="deal", grade="C"),
        ticket("ticket.rated", "2026-TECH-00001-001", START + HOUR, rating={"score": 5}),
        ticket("ticket.transitioned", "2026-TECH-00001-001", START, **{"to": "done"}),
        ticket("ticket.created", "2026-TECH-00001-002", START),
        ticket("ticket.transitioned", "2026-TECH-00001-002", START + HOUR, **{"to": "done"}),
    ]


def test_batches_leave_every_table_as_the_events_one_by_one(twins, options):
    one_by_one, batched = twins
    events = mixed_events()
    for envelope in [*events, events[5]]:
        worker_factory(WorkflowService, uow=one_by_one.uow(), options=options).handle_event(
            [envelope])
    assert learning.handle_events(batched.uow(), options, [*events[:6], events[5]]) == 6
    assert learning.handle_events(batched.uow(), options, events[4:]) == 2  # two seen before
    assert learning.handle_events(batched.uow(), options, events[:1]) == 0

    known = [envelope["id"] for envelope in events]
    assert batched.tables(known) == one_by_one.tables(known)
    with sessionmaker(batched.engine)() as session:
        made = session.scalars(select(models.Task).order_by(models.Task.id)).all()
        occurrences = session.scalars(select(models.Occurrence)).all()
    feedback = [task for task in made if task.ticket_id is not None]
    assert [(task.ticket_id, task.state) for task in feedback] == [
        ("2026-TECH-00001-001", "done"), ("2026-TECH-00001-002", "open")]
    assert events[4]["id"] in feedback[0].completion_note  # the rating that came first
    # The deal's letter and feedback, two tickets', and the new customer's first grade-B and
    # contact-plan follow-ups, made with its creation (the grade-B one cancelled by grade A).
    assert len(occurrences) == len(made) == 6
    schedule_tasks = [(task.reason["trigger"]["occurrence"], task.state) for task in made
                      if "schedule" in task.reason["trigger"]]
    assert schedule_tasks == [(START.isoformat(), "cancelled"), (START.isoformat(), "open")]


def test_a_payload_that_cannot_be_read_fails_the_whole_batch(twins, options):
    _, batched = twins
    events = mixed_events()
    before = batched.tables()
    no_customer = {**events[1], "data": {"changes": []}}
    for bad in (no_customer, {**events[5], "occurred_at": None}):
        with pytest.raises(ValidationFailed):
            learning.handle_events(batched.uow(), options, [events[1], bad])
    assert batched.tables() == before
    assert learning.handle_events(batched.uow(), options, [events[1]]) == 1


def test_events_about_one_ticket_wait_for_the_batch_that_holds_it(twins, options):
    """Each ticket event type has its queue, so a rating and the done event whose task it
    completes may be applied at once by two workers. The ticket's id is locked until commit,
    so the second waits for the first and sees what it wrote: the task is made completed."""
    _, world = twins
    rated = ticket("ticket.rated", "2026-TECH-00001-020", START + HOUR, rating={"score": 5})
    done = ticket("ticket.transitioned", "2026-TECH-00001-020", START, **{"to": "done"})
    holder = world.uow()
    learning._Batch(holder, options).apply([rated])  # applied, not yet committed
    worker = eventlet.spawn(learning.handle_events, world.uow(), options, [done])
    eventlet.sleep(0.5)
    assert not worker.dead  # waiting for the rating's transaction
    holder.commit()
    assert worker.wait() == 1
    with sessionmaker(world.engine)() as session:
        (task,) = session.scalars(select(models.Task)).all()
    assert task.state == "done" and rated["id"] in task.completion_note


def open_titles(world) -> list[tuple[str, str]]:
    with sessionmaker(world.engine)() as session:
        return [(task.ticket_id, task.title) for task in session.scalars(
            select(models.Task).where(models.Task.ticket_id.is_not(None))
            .order_by(models.Task.id))]


def test_a_rule_written_between_batches_acts_from_the_next_one_and_sees_the_history(
        twins, options):
    """The consumer keeps the active rules between batches: a rule made, changed, disabled
    or deleted (by any instance) counts from the next batch. Events no rule acted on when
    they came are still kept for the dry runs and the late completions of a rule made later."""
    _, world = twins
    first = [ticket("ticket.created", "2026-TECH-00001-010", START),
             ticket("ticket.commented", "2026-TECH-00001-010", START + HOUR)]
    assert learning.handle_events(world.uow(), options, first) == 2
    rule = {"name": "Call back on every new ticket", "trigger": {"event": "ticket.created"},
            "task": {"title": "Call back", "due_in_hours": 4, "assignee": "ticket_owner"},
            "completes_on": ["ticket.commented"]}
    made = rulebook.create_rule(world.uow(), options, rule)
    planned = dryrun.dry_run(world.uow(), options, {
        "rule": rule, "from": START.isoformat(), "to": (START + HOUR).isoformat()})
    assert [(task["ticket_id"], task["state"]) for task in planned["tasks"]] == [
        ("2026-TECH-00001-010", "done")]

    def new_ticket(number: int):
        envelope = ticket("ticket.created", f"2026-TECH-00001-{number:03d}", START + 2 * HOUR)
        assert learning.handle_events(world.uow(), options, [envelope]) == 1

    new_ticket(11)
    rulebook.update_rule(world.uow(), options, made["id"], {**rule, "enabled": False})
    new_ticket(12)
    rulebook.update_rule(world.uow(), options, made["id"], {
        **rule, "task": {**rule["task"], "title": "Call back today"}})
    new_ticket(13)
    rulebook.delete_rule(world.uow(), options, made["id"])
    new_ticket(14)
    assert open_titles(world) == [("2026-TECH-00001-011", "Call back"),
                                  ("2026-TECH-00001-013", "Call back today")]
