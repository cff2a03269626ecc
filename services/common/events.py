"""The event envelope of SPEC §7 (``{id, type, occurred_at, source, request_id, data}``) and
the catalogues in which producers declare their events.

Events are owned by their producers. Each service that emits events declares them, with the
marshmallow schema of their ``data``, in its own ``events.py``::

    # services/ticket/events.py
    EVENTS = Catalogue("tickets")            # the service's name: exchange "tickets.events"
    EVENTS.declare("ticket.held", "A ticket waits for the customer; its clocks pause.",
                   ticket=fields.Nested(TicketSchema, required=True),
                   reason=fields.String(required=True))

and lists that module in :data:`PRODUCERS`. ``uow.emit("ticket.held", data)`` (see
:mod:`services.common.outbox`) then loads ``data`` through that schema and writes what the
schema dumps: an undeclared event type, a missing required member, an unknown member or a
value of the wrong type raises :class:`InvalidEvent` in the code that made it, before
anything is written. ``docs/asyncapi.yaml`` is generated from the catalogues
(``python scripts/asyncapi.py``), and ``tests/unit/test_event_contracts.py`` checks every
consumer's subscriptions and data schemas against them. Commands other systems may send are
declared in the catalogue of the service that consumes them (:meth:`Catalogue.command`).
"""
import importlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from services.common.canonical import canonical_check
from services.common.schemas import load_or_422, schema_of

# The producers' catalogues by source (the Nameko service name, which names the exchange
# ``<source>.events``). A new producer adds its ``events`` module here.
PRODUCERS = {
    "customers": "services.customer.events",
    "tickets": "services.ticket.events",
    "workflow": "services.workflow.events",
    "reporting": "services.reporting.events",
    "gateway": "gateway.events",
}


class InvalidEvent(Exception):
    """An event its producer's catalogue does not declare, or whose data its schema refuses:
    a bug in the code that emits it."""


@dataclass(frozen=True)
class Declared:
    """One message type: its routing key, a one-line summary and the schema of its data."""

    type: str
    summary: str
    schema: type[Schema]

    def dump(self, data: dict) -> dict:
        """``data`` loaded and dumped through the schema; data that is already what that
        gives back (most, since emitters dump through the same schemas) is recognised by a
        compiled check (:mod:`services.common.canonical`) and returned as it is."""
        if canonical_check(self.schema)(data):
            return data
        try:
            loaded = schema_of(self.schema).load(data)
        except ValidationError as exc:
            raise InvalidEvent(f"{self.type}: {exc.messages}") from None
        return schema_of(self.schema).dump(loaded)


class Catalogue:
    """The events one producer emits (and the commands it consumes), by type."""

    def __init__(self, source: str):
        self.source = source
        self.events: dict[str, Declared] = {}
        self.commands: dict[str, Declared] = {}

    def declare(self, event_type: str, summary: str, **members) -> Declared:
        """Declare ``event_type`` with the fields of its data (marshmallow fields; mark the
        members every payload carries ``required=True``). The schema is named after the
        type: ``ticket.sla_warning`` → ``TicketSlaWarning``."""
        return self._add(self.events, event_type, summary,
                         Schema.from_dict(members, name=_camel(event_type)))

    def command(self, command_type: str, summary: str, schema: type[Schema]) -> Declared:
        """Declare a command this service consumes from ``deskflow.commands``."""
        return self._add(self.commands, command_type, summary, schema)

    def _add(self, table: dict, message_type: str, summary: str, schema) -> Declared:
        if message_type in table:
            raise ValueError(f"{message_type} is declared twice")
        table[message_type] = Declared(message_type, summary, schema)
        return table[message_type]

    def payload(self, event_type: str, data: dict) -> dict:
        """``data`` dumped through the declared schema; :class:`InvalidEvent` if it is not
        declared or does not fit."""
        declared = self.events.get(event_type)
        if declared is None:
            raise InvalidEvent(f"{event_type} is not declared in the {self.source} catalogue "
                               f"({PRODUCERS.get(self.source, 'no events module')})")
        return declared.dump(data)


def _camel(message_type: str) -> str:
    return "".join(part.capitalize() for word in message_type.split(".")
                   for part in word.split("_"))


def catalogue(source: str) -> Catalogue:
    """The catalogue of producer ``source``; an empty one for a service that emits nothing."""
    module = PRODUCERS.get(source)
    if module is None:
        return Catalogue(source)
    return importlib.import_module(module).EVENTS


def catalogues() -> dict[str, Catalogue]:
    return {source: catalogue(source) for source in PRODUCERS}


def declared_events() -> dict[str, Declared]:
    """Every declared event by type, across producers."""
    return {event_type: declared for events in catalogues().values()
            for event_type, declared in events.events.items()}


class EnvelopeSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.UUID(required=True)
    type = fields.String(required=True)
    occurred_at = fields.AwareDateTime(required=True)
    source = fields.String(required=True)
    request_id = fields.String(allow_none=True, load_default=None)
    data = fields.Dict(required=True)


class CommandSchema(EnvelopeSchema):
    """A command from another system: the envelope, with its origin fields optional."""

    occurred_at = fields.AwareDateTime(load_default=None)
    source = fields.String(load_default=None)


def make_envelope(event_type: str, data: dict, source: str, request_id: str | None,
                  occurred_at: datetime) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "occurred_at": occurred_at.isoformat(),
        "source": source,
        "request_id": request_id,
        "data": data,
    }


def parse_envelope(payload) -> dict:
    """Validate an incoming envelope; the ids and times stay in their JSON forms."""
    load_or_422(schema_of(EnvelopeSchema), payload)
    return payload


def parse_command(payload) -> dict:
    """Validate an incoming command; ids stay strings."""
    load_or_422(schema_of(CommandSchema), payload)
    return payload
