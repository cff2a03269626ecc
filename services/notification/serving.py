"""Who serves a customer now (客户联系方式变更时通知相关服务人员): the owners of its open
tickets and the assignees of its open tasks, kept from the ticket and task events this
service consumes anyway (each carries the whole record), so a contact change reaches them
without asking the ticket or workflow service at the time.

Each event type has its own queue, so events of one record may arrive out of order: a row
keeps the record as of its newest ``updated_at`` and an older snapshot changes nothing."""
import logging
from datetime import datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields
from sqlalchemy import select

from services.common.db import upsert_per_backend
from services.notification import domain
from services.notification.models import CustomerWork

log = logging.getLogger(__name__)


class _Work(Schema):
    class Meta:
        unknown = EXCLUDE

    id = fields.Raw(required=True)
    customer_id = fields.String(allow_none=True, load_default=None)
    state = fields.String(required=True)
    updated_at = fields.AwareDateTime(allow_none=True, load_default=None)


class TicketWorkSchema(_Work):
    owner = fields.String(allow_none=True, load_default=None)


class TaskWorkSchema(_Work):
    assignee = fields.String(allow_none=True, load_default=None)


WORK = {"ticket": (TicketWorkSchema(), "owner"), "task": (TaskWorkSchema(), "assignee")}


def work_row(event_type: str, data: dict, occurred_at: datetime) -> dict | None:
    """The ticket or task an event carries, as a ``customer_work`` row; None for an event of
    neither, a record without a customer (no one's service) or a snapshot too thin to read
    (no state)."""
    kind = event_type.split(".", 1)[0]
    if kind not in WORK or not isinstance(data.get(kind), dict):
        return None
    schema, person = WORK[kind]
    try:
        item = schema.load(data[kind])
    except ValidationError as error:
        log.info("%s %s not tracked: %s", event_type, data[kind].get("id"), error.messages)
        return None
    if item["customer_id"] is None:
        return None
    return {"kind": kind, "item_id": str(item["id"]), "customer_id": item["customer_id"],
            "person": item[person], "open": domain.is_open(kind, item["state"]),
            "updated_at": item["updated_at"] or occurred_at}


def _keep_newer(insert):
    """The upsert of a ``customer_work`` row that keeps the newer snapshot."""
    table = CustomerWork.__table__
    statement = insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c.kind, table.c.item_id],
        set_={name: statement.excluded[name]
              for name in ("customer_id", "person", "open", "updated_at")},
        where=table.c.updated_at <= statement.excluded.updated_at)


# Run with a list of rows it is one round trip (psycopg pipelines them).
_KEEP = upsert_per_backend(_keep_newer)


def track(session, rows: list[dict]) -> None:
    """Keep the records of ``rows`` (in the order their events came), in one execution: of
    each record the newest snapshot (the later on a tie), unless the one kept is newer.
    Rows are written, and so locked, in key order."""
    newest = {}
    for row in rows:
        key = (row["kind"], row["item_id"])
        if key not in newest or newest[key]["updated_at"] <= row["updated_at"]:
            newest[key] = row
    if newest:
        session.execute(_KEEP(session), [newest[key] for key in sorted(newest)])


def serving(session, customer_id: str) -> list[str]:
    """The people on the customer's open tickets and tasks, each once."""
    return list(session.scalars(
        select(CustomerWork.person).where(CustomerWork.customer_id == customer_id,
                                          CustomerWork.open.is_(True),
                                          CustomerWork.person.is_not(None))
        .distinct().order_by(CustomerWork.person)))
