"""Write ``docs/asyncapi.yaml``, the AsyncAPI document of deskflow's events and commands,
from the same marshmallow schemas the services use: ``python scripts/asyncapi.py``.

A test regenerates it and fails when the committed file is stale, or when a service emits an
event this catalogue does not describe.
"""
import json
import sys
from pathlib import Path

import yaml
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.schemas import UserSchema  # noqa: E402
from gateway.users import USER_EVENT_FIELDS  # noqa: E402
from services.common.events import EnvelopeSchema  # noqa: E402
from services.customer.schemas import (  # noqa: E402
    CustomerInputSchema, CustomerSchema, FieldChangeSchema, FollowupPlanSchema, FollowupSchema,
)
from services.ticket.schemas import (  # noqa: E402
    CommentSchema, CustomerNoticeSchema, RatingSchema, TicketInputSchema, TicketSchema,
)
from services.workflow.schemas import TaskSchema  # noqa: E402

OUTPUT = ROOT / "docs" / "asyncapi.yaml"
CLOCK = fields.String(metadata={"enum": ["first_response", "resolution", "update"]})


def data(name: str, **members) -> type[Schema]:
    return Schema.from_dict(members, name=name)


def customer_data(name):
    return data(name, customer=fields.Nested(CustomerSchema))


def ticket_data(name, **extra):
    return data(name, ticket=fields.Nested(TicketSchema), **extra)


def task_data(name, **extra):
    return data(name, task=fields.Nested(TaskSchema), **extra)


def sla_alert(name):
    return ticket_data(name, clock=CLOCK, due_at=fields.AwareDateTime(),
                       target_seconds=fields.Integer(), elapsed_seconds=fields.Integer())


EVENTS = {
    "customers": {
        "customer.created": ("A customer was created.", customer_data("CustomerCreated")),
        "customer.updated": ("Fields of a customer changed.", data(
            "CustomerUpdated", customer=fields.Nested(CustomerSchema),
            changes=fields.List(fields.Nested(FieldChangeSchema)),
            contact_changed=fields.Boolean())),
        "customer.deleted": ("A customer was deleted.", customer_data("CustomerDeleted")),
        "customer.reviewed": (
            "A review step (双人校验 / 三级审核): verified, approved or rejected; a rejection "
            "goes back to the change's author with the note.", data(
                "CustomerReviewed", customer=fields.Nested(CustomerSchema),
                review=fields.Nested(data(
                    "ReviewStep", decision=fields.String(
                        metadata={"enum": ["verified", "approved", "rejected"]}),
                    by=fields.String(), author=fields.String(allow_none=True),
                    note=fields.String(allow_none=True), before=fields.String())),
                changes=fields.List(fields.Nested(FieldChangeSchema)))),
        "followup.logged": ("A follow-up was logged.", data(
            "FollowupLogged", followup=fields.Nested(FollowupSchema),
            customer=fields.Nested(CustomerSchema))),
    },
    "tickets": {
        "ticket.created": ("A ticket was opened.", ticket_data("TicketCreated")),
        "ticket.updated": ("Fields of a ticket changed.", ticket_data(
            "TicketUpdated", changes=fields.List(fields.Nested(FieldChangeSchema)))),
        "ticket.assigned": ("A ticket got a new owner.", ticket_data(
            "TicketAssigned", previous_owner=fields.String(allow_none=True))),
        "ticket.transitioned": ("A ticket changed state.", ticket_data(
            "TicketTransitioned", **{"from": fields.String(), "to": fields.String(),
                                     "note": fields.String(allow_none=True), "by": fields.String(),
                                     "at": fields.AwareDateTime()})),
        "ticket.commented": ("A comment was added.", ticket_data(
            "TicketCommented", comment=fields.Nested(CommentSchema))),
        "ticket.held": ("A ticket waits for the customer; its clocks pause.", ticket_data(
            "TicketHeld", reason=fields.String())),
        "ticket.resumed": ("A held ticket resumed.", ticket_data(
            "TicketResumed", held_seconds=fields.Integer())),
        "ticket.rated": ("The customer rated a ticket (every answer of the survey).", ticket_data(
            "TicketRated", rating=fields.Nested(RatingSchema))),
        "ticket.dissatisfied": ("A rating scored 2 or less: the owner and their manager follow "
                                "it up.", ticket_data("TicketDissatisfied",
                                                      rating=fields.Nested(RatingSchema))),
        "ticket.customer_notified": ("An email to the customer is due (acknowledgement, delay, "
                                     "outcome with the survey link).", ticket_data(
                                         "TicketCustomerNotified",
                                         notice=fields.Nested(CustomerNoticeSchema))),
        "ticket.sla_warning": ("80% of an SLA clock has run (once per clock and cycle).",
                               sla_alert("TicketSlaWarning")),
        "ticket.sla_breached": ("An SLA clock ran out (once per clock and cycle).",
                                sla_alert("TicketSlaBreached")),
        "ticket.sla_stopped": ("An SLA clock cycle ended.", ticket_data(
            "TicketSlaStopped", clock=CLOCK, started_at=fields.AwareDateTime(),
            stopped_at=fields.AwareDateTime(), elapsed_seconds=fields.Integer(),
            target_seconds=fields.Integer(), met=fields.Boolean())),
    },
    "workflow": {
        "task.created": ("A task was made, by a person or a rule.", task_data("TaskCreated")),
        "task.updated": ("Fields of a task changed.", task_data(
            "TaskUpdated", changes=fields.List(fields.Nested(FieldChangeSchema)))),
        "task.completed": ("A task was completed.", task_data("TaskCompleted")),
        "task.cancelled": ("A task was cancelled.", task_data("TaskCancelled")),
        "task.due_soon": ("A task falls due within TASK_REMIND_BEFORE_SECONDS (once).",
                          task_data("TaskDueSoon", notify=fields.List(fields.String()))),
        "task.overdue": ("A task passed its due date (once).", task_data(
            "TaskOverdue", notify=fields.List(fields.String()),
            escalated_to=fields.List(fields.String()))),
        "followup.plan_changed": ("The grade follow-up rules' intervals changed.",
                                  data("FollowupPlanChanged", plan=fields.Nested(FollowupPlanSchema))),
    },
    "gateway": {
        "user.created": ("A user account was created.", data(
            "UserCreated", user=fields.Nested(UserSchema(only=USER_EVENT_FIELDS)))),
        "user.updated": ("An admin changed a user's role, display name, email, team or "
                         "active flag.", data(
            "UserUpdated", user=fields.Nested(UserSchema(only=USER_EVENT_FIELDS)),
            changes=fields.List(fields.Nested(FieldChangeSchema)))),
        "user.login_alert": ("A user logged in from a network (IPv4 /24, IPv6 /64) it has not "
                             "used in the last 90 days; never sent for a first login.", data(
            "UserLoginAlert", user=fields.Nested(UserSchema(only=USER_EVENT_FIELDS)),
            at=fields.AwareDateTime(), address=fields.String(), network=fields.String(),
            user_agent=fields.String(allow_none=True))),
    },
}

COMMANDS = {
    "customer.upsert": ("customers", "Create or update a customer (matched by normalised name or phone).",
                        CustomerInputSchema),
    "ticket.create": ("tickets", "Open a ticket.", TicketInputSchema),
}


def build() -> dict:
    converter = APISpec("deskflow", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    channels, messages = {}, {}
    for source, events in EVENTS.items():
        for event_type, (summary, payload) in events.items():
            converter.components.schema(payload.__name__, schema=payload)
            messages[payload.__name__] = _message(event_type, summary, payload.__name__)
            channels[f"{source}.events/{event_type}"] = {
                "description": f"Topic exchange `{source}.events`, routing key `{event_type}`.",
                "subscribe": {"operationId": f"on_{event_type.replace('.', '_')}",
                              "message": {"$ref": f"#/components/messages/{payload.__name__}"}}}
    for command_type, (consumer, summary, payload) in COMMANDS.items():
        name = payload.__name__.removesuffix("Schema") + "Command"
        converter.components.schema(name, schema=payload)
        messages[name] = _message(command_type, summary, name)
        channels[f"deskflow.commands/{command_type}"] = {
            "description": f"Topic exchange `deskflow.commands`, routing key `{command_type}`, "
                           f"consumed by `{consumer}`; invalid commands are dead-lettered.",
            "publish": {"operationId": f"send_{command_type.replace('.', '_')}",
                        "message": {"$ref": f"#/components/messages/{name}"}}}
    converter.components.schema("Envelope", schema=EnvelopeSchema)
    return {
        "asyncapi": "2.6.0",
        "info": {"title": "deskflow events and commands", "version": "1.0.0",
                 "description": "JSON envelopes {id, type, occurred_at, source, request_id, data} "
                                "on durable topic exchanges. Events may arrive twice: deduplicate "
                                "on `id`. Headers nameko.request_id, nameko.actor and "
                                "nameko.actor_role carry the context."},
        "defaultContentType": "application/json",
        "servers": {"rabbitmq": {"url": "amqp://127.0.0.1:5672/", "protocol": "amqp",
                                 "protocolVersion": "0-9-1"}},
        "channels": channels,
        "components": {"messages": messages,
                       "schemas": converter.to_dict()["components"]["schemas"]},
    }


def _message(message_type: str, summary: str, data_schema: str) -> dict:
    return {"name": message_type, "summary": summary, "payload": {
        "type": "object", "required": ["id", "type", "data"],
        "properties": {"id": {"type": "string", "format": "uuid"},
                       "type": {"type": "string", "enum": [message_type]},
                       "occurred_at": {"type": "string", "format": "date-time"},
                       "source": {"type": "string"},
                       "request_id": {"type": "string", "nullable": True},
                       "data": {"$ref": f"#/components/schemas/{data_schema}"}}}}


def render() -> str:
    header = "# Generated by scripts/asyncapi.py from the services' schemas; do not edit by hand.\n"
    plain = json.loads(json.dumps(build(), default=float))  # validators' Decimal bounds
    return header + yaml.safe_dump(plain, sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    OUTPUT.write_text(render())
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
