"""The ticket's dump without marshmallow gives what the schema's dump gives."""
import json
from datetime import date, datetime, timezone

from marshmallow import fields

from services.common.schemas import schema_of
from services.ticket.presentation import dumper
from services.ticket.schemas import TicketSchema

AT = datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=timezone.utc)
CLOCK = {"due_at": AT, "remaining_seconds": 12.5, "status": "running", "target_seconds": 600,
         "elapsed_seconds": 0.0, "started_at": AT, "stopped_at": None, "cycle": 2}
RATING = {"score": 4, "quality": None, "speed": 5, "effectiveness": None, "nps_score": 0,
          "would_cooperate_again": "yes", "comment": "好", "collected_via": "phone",
          "by": "alice", "at": AT}


# A value of each field type of the ticket's schema (a new type or option must be added here).
SAMPLES = {fields.String: "Printer 卡纸", fields.Integer: 3, fields.Float: 2.25,
           fields.Boolean: True, fields.AwareDateTime: AT, fields.Date: date(2026, 12, 1)}


def ticket_values(**changes) -> dict:
    values = {name: SAMPLES.get(type(field))
              for name, field in schema_of(TicketSchema).fields.items()}
    values["sla"] = {"first_response": CLOCK, "update": {**CLOCK, "stopped_at": AT}}
    return {**values, **changes}


def test_dump_matches_marshmallow_byte_for_byte():
    dump = dumper(schema_of(TicketSchema))
    every_clock = {"update": CLOCK, "resolution": {**CLOCK, "status": "met"},
                   "first_response": CLOCK}
    nothing = dict.fromkeys(schema_of(TicketSchema).fields)
    for values in (ticket_values(), ticket_values(rating=RATING, sla=every_clock), nothing):
        expected = schema_of(TicketSchema).dump(values)
        assert json.dumps(dump(values)) == json.dumps(expected)  # key order too, at every level
