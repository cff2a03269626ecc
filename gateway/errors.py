"""One table from error to HTTP response: ``{"error": {"code", "message", "details"}}``."""
import logging

from flask import jsonify
from nameko.exceptions import RemoteError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from services.common.db import DATABASE_UNREACHABLE, unreachable_as_unavailable
from services.common.errors import DeskflowError, PayloadTooLarge

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, details: dict | None = None):
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    return response


def from_deskflow_error(exc: DeskflowError):
    response = error_response(exc.status, exc.code, exc.message, exc.details)
    if "retry_after_seconds" in exc.details:
        response.headers["Retry-After"] = str(exc.details["retry_after_seconds"])
    return response


def from_body_cut_off(exc: RequestEntityTooLarge):
    """A body without ``Content-Length`` that grew past the endpoint's limit while read."""
    return from_deskflow_error(PayloadTooLarge("The body is larger than this endpoint accepts."))


def from_http_exception(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    allowed = sorted(getattr(exc, "valid_methods", None) or ())
    response = error_response(exc.code or 500, code, exc.description or exc.name,
                              {"allowed_methods": allowed} if allowed else {})
    if allowed:  # a 405 names the methods the resource has (RFC 9110 §15.5.6)
        response.headers["Allow"] = ", ".join(allowed)
    return response


def from_remote_error(exc: RemoteError):
    log.error("a service failed: %s", exc)
    # The body names nothing of the code (no exception class): the log has it, under the
    # request id the response carries.
    return error_response(500, "internal_error", "A service failed; the error has been logged.")


def from_database_unreachable(exc: Exception):
    """The gateway's own database (users, idempotency records) is down or restarting."""
    log.warning("the gateway's database cannot be reached: %s", exc)
    return from_deskflow_error(unreachable_as_unavailable((type(exc), exc, None))[1])


def from_unexpected(exc: Exception):
    log.exception("unexpected error")
    return error_response(500, "internal_error", "Unexpected error; it has been logged.")


def register_error_handlers(app):
    app.register_error_handler(DeskflowError, from_deskflow_error)
    app.register_error_handler(RequestEntityTooLarge, from_body_cut_off)
    app.register_error_handler(HTTPException, from_http_exception)
    app.register_error_handler(RemoteError, from_remote_error)
    for database_error in DATABASE_UNREACHABLE:
        app.register_error_handler(database_error, from_database_unreachable)
    app.register_error_handler(Exception, from_unexpected)
