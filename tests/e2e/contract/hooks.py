"""Schemathesis hooks for the API contract run (``SCHEMATHESIS_HOOKS``)."""
import uuid

import schemathesis

from gateway.idempotency import HEADER, KEY_PATTERN


@schemathesis.hook
def before_call(context, case, kwargs):
    """A valid Idempotency-Key the generator made is made unique: generated keys repeat
    (``00000000``) with other bodies, and a reused key is refused (422
    ``idempotency_key_reused``), as the document says. Invalid keys stay as they are."""
    for headers in (case.headers, kwargs.get("headers")):
        key = (headers or {}).get(HEADER)
        if isinstance(key, str) and KEY_PATTERN.fullmatch(key):
            headers[HEADER] = uuid.uuid4().hex
