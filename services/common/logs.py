"""Logging: every line carries the request id, and phone numbers and emails are masked, in
the message and in tracebacks."""
import logging
import re
import threading

_local = threading.local()  # green-thread local once eventlet has patched threading

def _digit(allowed: str) -> str:
    """The digits in ``allowed`` ("0-9", "3-9"...) as ASCII, full-width, or full-width
    escaped in JSON (\\uff11)."""
    low, high = int(allowed[0]), int(allowed[-1])
    return (rf"(?:[{low}-{high}\u{0xff10 + low:04x}-\u{0xff10 + high:04x}]"
            rf"|\\u[fF][fF]1[{low}-{high}])")


_D = _digit("0-9")
_SEPARATORS = " \\-\u3000\uff0d\u2010-\u2015"  # spaces and dashes, ASCII and full-width
_SEP = rf"[{_SEPARATORS}]?"  # what people put between digit groups
_EDGE = "0-9\uff10-\uff19A-Za-z"  # a number glued to these is an id, not a phone
_PLUS, _OPEN, _CLOSE = "[+\uff0b]", "[(\uff08]", "[)\uff09]"
_COUNTRY = rf"(?:(?:{_PLUS}|00){_D}{{1,3}}|{_OPEN}{_PLUS}?{_D}{{1,3}}{_CLOSE}){_SEP}"
_MOBILE = rf"{_digit('1')}{_digit('3-9')}{_D}(?:{_SEP}{_D}){{8}}"  # 138 1234 5678
_AREA = rf"{_digit('0')}{_D}{{2,3}}"
_LANDLINE = rf"(?:{_AREA}|{_OPEN}{_AREA}{_CLOSE}){_SEP}{_D}{{3,4}}{_SEP}{_D}{{4}}"  # 010-62345678
# After a country code, any grouping: +1 (415) 555-0100, +44 20 7946 0958
_ANY_NATIONAL = rf"{_OPEN}?{_D}(?:[{_SEPARATORS}()\uff08\uff09]{{0,2}}{_D}){{6,13}}"
PHONE = re.compile(
    rf"(?<![{_EDGE}])(?P<country>{_COUNTRY})?(?P<number>{_MOBILE}|{_LANDLINE})(?![{_EDGE}])"
    rf"|(?<![{_EDGE}])(?P<country2>{_COUNTRY})(?P<number2>{_ANY_NATIONAL})(?![{_EDGE}])")
_DIGIT = re.compile(_D)
EMAIL = re.compile(r"([\w%+-])[\w.%+-]*(@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,})")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
KEPT_HEAD, KEPT_TAIL = 3, 4


def _mask_number(number: str) -> str:
    """Keep the first three and the last four digits (and every separator)."""
    digits = [m.span() for m in _DIGIT.finditer(number)]
    hidden = digits[KEPT_HEAD:len(digits) - KEPT_TAIL]
    for start, end in reversed(hidden):
        number = number[:start] + "*" + number[end:]
    return number


def _mask_phone(match: re.Match) -> str:
    country = match.group("country") or match.group("country2") or ""
    return country + _mask_number(match.group("number") or match.group("number2"))


def mask(text: str) -> str:
    """Mask phone numbers (138****5678, +86 138 **** 5678, 010-****5678) and emails
    (a***@example.com) in free text."""
    text = PHONE.sub(_mask_phone, text)
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


class MaskingFormatter(logging.Formatter):
    """Masks personal data in tracebacks and stacks too (the message is masked by
    :class:`RequestContextFilter`): an exception's text often quotes the input."""

    def formatException(self, ei):
        return mask(super().formatException(ei))

    def formatStack(self, stack_info):
        return mask(super().formatStack(stack_info))


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter(LOG_FORMAT))
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
