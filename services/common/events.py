"""The event envelope of SPEC §7: ``{id, type, occurred_at, source, request_id, data}``."""
import uuid
from datetime import datetime

from marshmallow import EXCLUDE, Schema, fields

from services.common.schemas import load_or_422, schema_of


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
