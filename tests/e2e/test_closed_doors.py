"""Doors that must stay closed, tried over HTTP against the real processes."""
import pytest

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024


def test_a_two_mib_body_is_refused_with_413(stack):
    api = stack.admin()
    body = b'{"name": "' + b"x" * (2 * MIB) + b'", "industry": "TECH"}'
    response = api.post("/api/v1/customers", data=body,
                        headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["details"]["max_bytes"] == MIB
    # the gateway still serves the next request
    assert api.get("/api/v1/customers").status_code == 200
