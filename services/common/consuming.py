"""Applying a batch of delivered events once, in one transaction.

A consumer's use case reads every payload of the batch first (one that cannot be read
raises before anything is written, failing the batch so that its consumer tries each
delivery alone and dead-letters the bad one), then hands the envelopes to
:func:`apply_batch`, which claims their ids in one statement, applies the events not handled
before (each id once, in delivery order) and commits once."""
import logging

from sqlalchemy.exc import IntegrityError

from services.common.errors import Unavailable

log = logging.getLogger(__name__)


def unclaimed(uow, consumer: str, envelopes: list[dict]) -> list[dict]:
    """The envelopes ``consumer`` has not handled before, each id once, in delivery order;
    all are claimed in one statement (:meth:`UnitOfWork.claim_many`)."""
    fresh = uow.claim_many(consumer, [envelope["id"] for envelope in envelopes])
    return first_copies(envelopes, fresh, lambda envelope: envelope["id"])


def first_copies(items: list, fresh: set, id_of) -> list:
    """The items whose id (``id_of(item)``) is in ``fresh``, each id once (its first copy:
    a second copy in the same batch is a repeat too), in order."""
    fresh, first = set(fresh), []
    for item in items:
        if id_of(item) in fresh:
            fresh.discard(id_of(item))
            first.append(item)
    return first


def apply_batch(uow, consumer: str, envelopes: list[dict], apply) -> int:
    """Claim the envelopes for ``consumer``, ``apply(new envelopes)`` and commit, in one
    transaction; returns how many were new. A unique key broken by a concurrent change rolls
    the batch back: 0 if every event was meanwhile handled by another worker, else
    :class:`Unavailable`, so the deliveries are tried again."""
    fresh = unclaimed(uow, consumer, envelopes)
    if not fresh:
        uow.rollback()
        return 0
    try:
        apply(fresh)
        uow.commit()
    except IntegrityError:
        uow.rollback()
        ids = [envelope["id"] for envelope in fresh]
        handled = uow.handled(consumer, ids)
        uow.rollback()  # no lock kept through the retry's pause
        if handled == set(ids):
            log.info("events %s were already handled", ids)
            return 0
        raise Unavailable("A concurrent change to the same records; the events will be retried.",
                          {"event_ids": ids}) from None
    return len(fresh)
