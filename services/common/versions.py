"""No silent overwrites: records two people may edit carry a ``version``.

Every write through the API bumps it; ``GET`` shows it as the ``ETag``; a write sent with
``If-Match`` passes the version it was based on down to the owning service, which compares
it inside the writing transaction, after locking the row — so nothing can change the record
between the check and the write. Without ``If-Match`` the last write wins.

For a new resource: give its model :class:`VersionedMixin`, put ``version`` in its output
schema, call :func:`bump_version` in each write, and :func:`check_version` right after the
write has locked the row (``SELECT … FOR UPDATE``); the gateway side is
``gateway.api.endpoint.tagged`` and ``if_match``.
"""
from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from services.common.errors import Stale


class VersionedMixin:
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


def bump_version(record) -> None:
    record.version = (record.version or 1) + 1


def check_version(record, expected: int | None, what: str) -> None:
    """412 ``stale`` when ``expected`` is given and is not the version ``record`` is at."""
    if expected is not None and record.version != expected:
        raise Stale(f"{what} {record.id} has changed since version {expected} (it is at version "
                    f"{record.version}); read it again and reapply the change.",
                    {"id": record.id, "expected_version": expected,
                     "current_version": record.version})
