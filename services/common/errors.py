"""Typed errors that cross RPC intact and map to one HTTP status each.

Plain Python, so domain code can raise them. :func:`register_remote_errors` (called by
every process that makes RPC calls) registers them with Nameko, so a service raising
``NotFound("...")`` makes the caller's proxy raise the same ``NotFound`` with the same
message and details. The gateway maps them to statuses by the ``status`` attribute.
"""


class DeskflowError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message, details or {})
        self.message = message
        self.details = details or {}

    def __str__(self):
        return self.message

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "details": self.details}


class BadRequest(DeskflowError):
    status, code = 400, "bad_request"


class Unauthorized(DeskflowError):
    status, code = 401, "unauthorized"


class Forbidden(DeskflowError):
    status, code = 403, "forbidden"


class PasswordChangeRequired(Forbidden):
    code = "password_change_required"


class NotOwner(Forbidden):
    code = "not_owner"


class NotFound(DeskflowError):
    status, code = 404, "not_found"


class Conflict(DeskflowError):
    status, code = 409, "conflict"


class Duplicate(Conflict):
    code = "duplicate"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Archived(Conflict):
    """The record was moved to the archive: it can be read, not changed."""

    code = "archived"


class RetentionPeriod(Conflict):
    """The record is younger than ``RETENTION_YEARS``: it cannot be deleted for good yet."""

    code = "retention_period"


class SamePerson(Conflict):
    """A review step by the person whose change is under review (双人校验 needs two)."""
    code = "same_person"


class ReviewOutOfOrder(Conflict):
    """A review decision the customer's review state does not allow yet (or any more)."""
    code = "review_out_of_order"


class InProgress(Conflict):
    """A repeat of a request that is still running (same ``Idempotency-Key``)."""
    code = "in_progress"


class Stale(DeskflowError):
    """``If-Match`` names a version the record no longer has."""
    status, code = 412, "stale"


class Gone(DeskflowError):
    status, code = 410, "gone"


class ValidationFailed(DeskflowError):
    status, code = 422, "validation_failed"


class PayloadTooLarge(DeskflowError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(DeskflowError):
    status, code = 415, "unsupported_media_type"


class KeyReused(ValidationFailed):
    """An ``Idempotency-Key`` sent again with another request."""
    code = "idempotency_key_reused"


class TooManyRequests(DeskflowError):
    status, code = 429, "rate_limited"


class Unavailable(DeskflowError):
    status, code = 503, "unavailable"


# Errors a service raises on purpose: Nameko logs them as warnings, not tracebacks.
EXPECTED_ERRORS = (DeskflowError,)


def _all_error_classes(cls=DeskflowError):
    yield cls
    for subclass in cls.__subclasses__():
        yield from _all_error_classes(subclass)


def register_remote_errors() -> None:
    """Let Nameko proxies raise these classes instead of a generic ``RemoteError``."""
    from nameko.exceptions import deserialize_to_instance

    for cls in _all_error_classes():
        deserialize_to_instance(cls)
