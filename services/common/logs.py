"""Logging: every line carries the request id, and phone numbers and emails are masked."""
import logging
import re
import threading

_local = threading.local()  # green-thread local once eventlet has patched threading

PHONE = re.compile(r"(?<!\d)(\+?\d{2,3}[ -]?)?(1\d{2})(\d{4})(\d{4})(?!\d)")
EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def mask(text: str) -> str:
    """Mask mobile numbers (138****8888) and emails (a***@example.com) in free text."""
    text = PHONE.sub(lambda m: f"{m.group(1) or ''}{m.group(2)}****{m.group(4)}", text)
    return EMAIL.sub(lambda m: f"{m.group(1)}***{m.group(2)}", text)


def set_request_id(request_id: str | None) -> None:
    _local.request_id = request_id


def current_request_id() -> str | None:
    return getattr(_local, "request_id", None)


EXPECTED_ERROR_PREFIX = "(expected) error"


class RequestContextFilter(logging.Filter):
    """Adds ``request_id`` to each record and masks personal data in its message. An error a
    service raised on purpose (a 4xx) stays one line: its traceback says nothing new."""

    def filter(self, record):
        record.request_id = current_request_id() or "-"
        if isinstance(record.msg, str) and record.msg.startswith(EXPECTED_ERROR_PREFIX):
            record.exc_info = record.exc_text = None
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
