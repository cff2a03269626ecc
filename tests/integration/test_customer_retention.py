"""Retention with a moved clock: nothing younger than RETENTION_YEARS is deleted for good;
the monthly purge erases soft-deleted customers past it, with their follow-ups and change
log; an admin erases an older one at once, and a younger one is 409 retention_period."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.clock import ManualClock
from services.common.db import make_engine
from services.common.errors import NotFound, RetentionPeriod
from services.customer.models import Outbox
from services.customer.service import CustomerService
from tests.support.customers import customer_payload
from tests.support.services import call

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
YEAR = 365 * 86400


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def service(container_factory, make_config, clock):
    container = container_factory(CustomerService, make_config("customer", clock=clock,
                                                                RETENTION_YEARS="3"))
    container.start()
    return container


def customer(service, name) -> str:
    made = call(service, "create", customer_payload(name=name))["id"]
    call(service, "log_followup", made, {"at": START.isoformat(), "channel": "phone",
                                         "subject": "Call", "outcome": "neutral"})
    return made


def exists(service, customer_id) -> bool:
    try:
        call(service, "history", customer_id)
        return True
    except NotFound:
        return False


def deletions(service) -> list[str]:
    engine = make_engine(service.config["DESKFLOW_SETTINGS"].database_url("customer"))
    try:
        with Session(engine) as session:
            rows = session.scalars(select(Outbox).where(Outbox.event_type == "customer.deleted"))
            return [row.envelope["data"]["customer"]["id"] for row in rows]
    finally:
        engine.dispose()


def test_retention_keeps_young_records_and_purges_old_deleted_ones(service, clock):
    gone = customer(service, "Deleted Long Ago Ltd")
    kept = customer(service, "Still A Customer Ltd")
    call(service, "delete", gone)
    with pytest.raises(RetentionPeriod) as refused:
        call(service, "delete", gone, {"purge": True})
    assert refused.value.details["purge_after"] == "2029-11-02T09:00:00+00:00"
    clock.advance(2 * YEAR)
    late = customer(service, "Deleted Later Ltd")
    call(service, "delete", late)

    clock.set(datetime(2029, 11, 1, 9, 0, tzinfo=timezone.utc))  # a day short of 3 years
    call(service, "purge_expired_customers")
    assert exists(service, gone) and exists(service, kept) and exists(service, late)

    clock.set(datetime(2029, 12, 3, 9, 0, tzinfo=timezone.utc))  # the next month's run
    call(service, "purge_expired_customers")
    assert not exists(service, gone)  # with its follow-ups and change log
    assert exists(service, kept)  # not deleted: only an admin erases it
    assert exists(service, late)  # deleted less than 3 years ago
    with pytest.raises(RetentionPeriod):
        call(service, "delete", late, {"purge": True})

    call(service, "delete", kept, {"purge": True})
    assert not exists(service, kept)
    assert kept in deletions(service)  # soft-deleted first: the other services hear of it
    with pytest.raises(NotFound):
        call(service, "delete", kept, {"purge": True})


def test_the_purge_runs_once_a_month(service, clock):
    clock.set(datetime(2026, 12, 15, 9, 0, tzinfo=timezone.utc))
    gone = customer(service, "Monthly Ltd")
    call(service, "delete", gone)
    clock.set(datetime(2029, 12, 1, 9, 0, tzinfo=timezone.utc))
    call(service, "purge_expired_customers")  # too young at this month's run
    clock.set(datetime(2029, 12, 20, 9, 0, tzinfo=timezone.utc))
    call(service, "purge_expired_customers")  # old enough now, but the month's run is done
    assert exists(service, gone)
    clock.set(datetime(2030, 1, 1, 0, 5, tzinfo=timezone.utc))
    call(service, "purge_expired_customers")
    assert not exists(service, gone)


def test_attachments_stay_with_a_deleted_customer_until_its_purge(service, clock):
    claim = {"sha256": "ab" * 32, "size": 9, "content_type": "application/pdf",
             "file_name": "营业执照.pdf"}
    gone = customer(service, "Attached Ltd")
    attachment = call(service, "add_attachment", gone, claim)
    call(service, "delete", gone)
    clock.advance(2 * YEAR)
    assert call(service, "list_attachments", gone) == [attachment]
    assert call(service, "referenced_files", ["ab" * 32, "cd" * 32]) == ["ab" * 32]

    late = customer(service, "Attached Later Ltd")
    call(service, "delete", late)
    clock.advance(YEAR)
    call(service, "add_attachment", customer(service, "Kept Ltd"), {**claim, "sha256": "ef" * 32})
    with pytest.raises(NotFound):
        call(service, "add_attachment", late, claim)  # a deleted customer takes none

    clock.set(datetime(2029, 12, 3, 9, 0, tzinfo=timezone.utc))
    call(service, "purge_expired_customers")
    assert not exists(service, gone)
    with pytest.raises(NotFound):
        call(service, "get_attachment", attachment["id"])
    # The file is referenced by nobody here now: the gateway's collection may delete it.
    assert call(service, "referenced_files", ["ab" * 32, "ef" * 32]) == ["ef" * 32]
