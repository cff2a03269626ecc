"""The one way tests, benchmarks and scripts build a customer: every field the archive form
requires, with a name and phone no other customer of the run has."""
import itertools
import os
import uuid

_SEQUENCE = itertools.count()
_RUN = uuid.uuid4().int


def unique_phone() -> str:
    """A mainland mobile number no other call in this run (or, almost surely, any parallel
    run) returns."""
    n = (_RUN + os.getpid() * 7919 + next(_SEQUENCE)) % 100_000_000
    return f"147{n:08d}"


def customer_payload(**overrides) -> dict:
    """A valid new customer; ``overrides`` replace or add fields, and an override of ``None``
    removes the field (to test what is required)."""
    payload = {
        "name": f"Customer {uuid.uuid4().hex[:10]}",
        "contact_name": "Wang Wei",
        "phone": unique_phone(),
        "industry": "TECH",
        "type": "prospect",
        "source": "referral",
    }
    payload.update(overrides)
    return {name: value for name, value in payload.items() if value is not None}
