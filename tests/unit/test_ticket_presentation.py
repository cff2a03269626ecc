"""The ticket's dump without marshmallow gives what the schema's dump gives."""
from datetime import date, datetime, timezone

from services.common.schemas import schema_of
from services.ticket.presentation import dumper
from services.ticket.schemas import TicketSchema

AT = datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=timezone.utc)
CLOCK = {"due_at": AT, "remaining_seconds": 12.5, "status": "running", "target_seconds": 600,
         "elapsed_seconds": 0.0, "started_at": AT, "stopped_at": None, "cycle": 2}
RATING = {"score": 4, "quality": None, "speed": 5, "effectiveness": None, "nps_score": 0,
          "would_cooperate_again": "yes", "comment": "好", "collected_via": "phone",
          "by": "alice", "at": AT}


def ticket_values(**changes) -> dict:
    values = {name: None for name in schema_of(TicketSchema).fields}
    values.update(id="C-001", version=3, title="Printer 卡纸", received_at=AT, created_at=AT,
                  updated_at=AT, planned_completion_date=date(2026, 12, 1), late_entry=False,
                  complex=True, archived=False, sla={"first_response": CLOCK,
                                                     "update": {**CLOCK, "stopped_at": AT}})
    return {**values, **changes}


def test_dump_matches_marshmallow_in_values_and_key_order():
    dump = dumper(schema_of(TicketSchema))
    every_clock = {"update": CLOCK, "resolution": {**CLOCK, "status": "met"},
                   "first_response": CLOCK}
    for values in (ticket_values(), ticket_values(rating=RATING, sla=every_clock)):
        expected = schema_of(TicketSchema).dump(values)
        assert dump(values) == expected
        assert list(dump(values)) == list(expected)
        assert list(dump(values)["sla"]) == list(expected["sla"])
