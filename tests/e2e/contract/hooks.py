"""Schemathesis hooks for the API contract run (``SCHEMATHESIS_HOOKS``)."""
import uuid

import schemathesis

from gateway.idempotency import HEADER, KEY_PATTERN


# Generated logins come from this address (the stack trusts the test as its proxy): their
# failures throttle it, not the address the run's own session logs in from.
FUZZED_LOGINS_FROM = "198.51.100.7"


@schemathesis.hook
def before_call(context, case, kwargs):
    """A valid Idempotency-Key the generator made is made unique: generated keys repeat
    (``00000000``) with other bodies, and a reused key is refused (422
    ``idempotency_key_reused``), as the document says. Invalid keys stay as they are."""
    if case.headers is None:
        case.headers = {}
    for headers in (case.headers, kwargs.get("headers")):
        if headers is None:
            continue
        key = headers.get(HEADER)
        if isinstance(key, str) and KEY_PATTERN.fullmatch(key):
            headers[HEADER] = uuid.uuid4().hex
        if case.operation.path.endswith("/auth/login"):
            headers["X-Forwarded-For"] = FUZZED_LOGINS_FROM
