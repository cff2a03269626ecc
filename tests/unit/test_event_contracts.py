"""Events are declared by their producers (``services/<name>/events.py``); emitting checks a
payload against its declaration, and every consumer's subscriptions and data schemas are
checked here against the declarations."""
import re
from datetime import datetime, timezone

import pytest
from marshmallow import fields
from nameko.events import EventHandler
from nameko.extensions import iter_extensions

from services.common.consumers import CommandHandler
from services.common.events import InvalidEvent, catalogue, catalogues, declared_events
from services.customer.service import CustomerService
from services.notification.schemas import EVENT_DATA_SCHEMAS as NOTIFICATION_SCHEMAS
from services.notification.service import NotificationService
from services.reporting import schemas as reporting_schemas
from services.reporting.service import ReportingService
from services.ticket.service import TicketService
from services.workflow import rules
from services.workflow import schemas as workflow_schemas
from services.workflow.service import WorkflowService

SERVICES = (CustomerService, TicketService, NotificationService, ReportingService,
            WorkflowService)
AT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def entrypoints(service_class, kind):
    for name in dir(service_class):
        for entrypoint in getattr(getattr(service_class, name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, kind):
                yield entrypoint
            for inner in iter_extensions(entrypoint):
                if isinstance(inner, kind):
                    yield inner


def subscriptions():
    return sorted({(service.name, handler.source_service, handler.event_type)
                   for service in SERVICES
                   for handler in entrypoints(service, EventHandler)})  # one at a time or in batches


def topic_matches(pattern: str, routing_key: str) -> bool:
    regex = re.escape(pattern).replace(r"\*", r"[^.]+").replace(r"\#", r".*")
    return re.fullmatch(regex, routing_key) is not None


@pytest.mark.parametrize("consumer, source, pattern", subscriptions())
def test_every_subscription_names_a_declared_event_of_its_source(consumer, source, pattern):
    declared = catalogue(source).events
    assert any(topic_matches(pattern, event_type) for event_type in declared), (
        f"{consumer} binds {pattern} on {source}.events, which declares none such")


def test_every_command_has_exactly_one_consumer_its_declaring_service():
    consumed = [(service.name, handler.command_type) for service in SERVICES
                for handler in entrypoints(service, CommandHandler)]
    declared = [(source, command) for source, events in catalogues().items()
                for command in events.commands]
    assert consumed and sorted(consumed) == sorted(declared)


def test_the_notification_service_hears_every_declared_event():
    heard = {(source, event) for consumer, source, event in subscriptions()
             if consumer == "notifications"}
    assert heard == {(source, event) for source, events in catalogues().items()
                     for event in events.events}


def test_workflow_triggers_are_declared_events_it_subscribes_to():
    subscribed = {(source, event) for consumer, source, event in subscriptions()
                  if consumer == "workflow"}
    declared = declared_events()
    for event_type in rules.EVENTS:
        assert event_type in declared
        source = next(source for source, events in catalogues().items()
                      if event_type in events.events)
        assert (source, event_type) in subscribed


def _check_reads(consumer_schema, producer_schema, where: str) -> None:
    """What a consumer's schema requires, the producer's schema declares (and requires at
    the top); members both declare have the same shape, recursively."""
    produced = producer_schema().fields if isinstance(producer_schema, type) else producer_schema.fields
    for name, field in consumer_schema().fields.items():
        key = field.data_key or name
        mine = next((item for item in produced.values() if (item.data_key or item.name) == key),
                    None)
        if mine is None:
            assert not field.required, f"{where}.{key}: required by the consumer, not declared"
            continue
        if field.required and where.count(".") == 0:
            assert mine.required, f"{where}.{key}: required by the consumer, optional in events.py"
        inner, theirs = _nested(field), _nested(mine)
        if inner is not None:
            assert theirs is not None, f"{where}.{key}: an object for the consumer, not declared so"
            _check_reads(inner, theirs, f"{where}.{key}")


def _nested(field):
    if isinstance(field, fields.List):
        field = field.inner
    if isinstance(field, fields.Nested):
        return field.schema.__class__ if field.schema.only is None else field.schema
    return None


def consumer_schemas() -> list:
    return list(_consumer_schemas())


def _consumer_schemas():
    yield from (("notifications", event, schema) for event, schema in NOTIFICATION_SCHEMAS.items())
    yield from (("reporting", event, reporting_schemas.EVENT_SCHEMAS.get(
        event, reporting_schemas.TicketEventSchema)) for event in declared_events()
        if reporting_schemas.is_consumed(event))
    yield from (("workflow", event, workflow_schemas.event_data_schema(event))
                for consumer, _, event in subscriptions() if consumer == "workflow")


@pytest.mark.parametrize("consumer, event_type, schema", consumer_schemas(),
                         ids=lambda value: getattr(value, "__name__", value))
def test_what_consumers_read_is_what_producers_declare(consumer, event_type, schema):
    declared = declared_events()
    assert event_type in declared
    _check_reads(schema, declared[event_type].schema, event_type)


def test_emitting_dumps_a_payload_through_its_declaration():
    plan = {"A": 7, "B": 14, "C": 30}
    assert catalogue("workflow").payload("followup.plan_changed", {"plan": plan}) == {"plan": plan}
    shown = catalogue("tickets").payload("ticket.held", {"ticket": {"id": "2026-TECH-001-001"},
                                                         "reason": "waiting"})
    assert shown == {"ticket": {"id": "2026-TECH-001-001"}, "reason": "waiting"}


@pytest.mark.parametrize("source, event_type, data, complaint", [
    ("tickets", "ticket.frozen", {}, "not declared"),
    ("tickets", "ticket.held", {"ticket": {"id": "x"}}, "reason"),
    ("tickets", "ticket.held", {"ticket": {"id": "x"}, "reason": "r", "extra": 1}, "extra"),
    ("workflow", "followup.plan_changed", {"plan": {"A": "weekly", "B": 1, "C": 1}}, "A"),
    ("customers", "customer.created", {"customer": {"id": "c", "created_at": "yesterday"}},
     "created_at"),
    ("reporting", "report.ready", {}, "not declared"),
])
def test_a_bad_payload_fails_where_it_is_made(source, event_type, data, complaint):
    with pytest.raises(InvalidEvent, match=complaint):
        catalogue(source).payload(event_type, data)


def test_times_keep_their_offsets():
    data = {"user": {"username": "li", "display_name": None, "email": None, "role": "sales",
                     "team": None, "active": True},
            "at": AT.isoformat(), "address": "10.0.0.1", "network": "10.0.0.0/24",
            "user_agent": None}
    assert catalogue("gateway").payload("user.login_alert", data) == data
