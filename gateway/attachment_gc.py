"""Garbage collection of the attachment store: a stored file that no attachment of any
service points at any more (removed, or erased with its customer by retention, or stored by
an upload the owning service then refused) is deleted once it is older than
``ATTACHMENT_GC_GRACE_SECONDS``. The grace period covers the moment between storing an
upload and recording its attachment (an upload of bytes already stored renews the file's
time, see :mod:`gateway.store`).

The gateway runs it every ``MAINTENANCE_CHECK_SECONDS``; several gateways sharing one store
may all run it (deleting a file twice is no error). If a service cannot answer, nothing is
deleted in that round.
"""
import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from services.common.context import IDEMPOTENCY_KEY, REQUEST_ID

BATCH = 500
# The services keeping attachment metadata; each answers ``referenced_files(sha256s)``.
OWNERS = ("customers", "tickets")

log = logging.getLogger(__name__)


def collect(store, referenced_by: Iterable[Callable[[list[str]], list[str]]],
            older_than: datetime, batch: int = BATCH) -> list[str]:
    """Delete the stored files older than ``older_than`` that none of ``referenced_by`` (one
    question per owning service) still points at; returns their sha256."""
    askers = list(referenced_by)
    candidates = [item.sha256 for item in store.objects() if item.modified_at < older_than]
    deleted = []
    for start in range(0, len(candidates), batch):
        chunk = candidates[start:start + batch]
        kept = set()
        for ask in askers:
            kept.update(ask(chunk))
        for sha256 in chunk:
            if sha256 not in kept:
                store.delete(sha256)
                deleted.append(sha256)
    return deleted


def service_askers(rpc_pool) -> list[Callable[[list[str]], list[str]]]:
    """``referenced_files`` of each owning service, over the gateway's RPC pool."""
    def asker(service):
        def ask(sha256s):
            context = {REQUEST_ID: f"attachment-gc-{uuid.uuid4().hex[:8]}",
                       IDEMPOTENCY_KEY: uuid.uuid4().hex}
            return rpc_pool.call(service, "referenced_files", sha256s, context=context)
        return ask

    return [asker(service) for service in OWNERS]


def collect_round(store, rpc_pool, clock, grace_seconds: float) -> None:
    deleted = collect(store, service_askers(rpc_pool),
                      clock.now() - timedelta(seconds=grace_seconds))
    if deleted:
        log.info("attachment store: deleted %d files no attachment points at", len(deleted))
