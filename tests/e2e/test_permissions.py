"""Every role against every secured endpoint the gateway documents: allowed roles get past
authorisation, the others get 403, and nobody gets in without a token."""
import re

import pytest

from tests.support.stack import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e

ROLES = ("admin", "manager", "sales", "support")


def secured_operations(stack):
    spec = stack.anonymous().get("/api/v1/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if "x-roles" in operation:
                yield method.upper(), re.sub(r"\{[^}]+\}", "2026-TECH-000", path), operation["x-roles"]


@pytest.fixture(scope="module")
def clients(stack):
    return {role: stack.admin() if role == "admin" else stack.user(role) for role in ROLES}


def fresh_login(stack, role, api):
    """Another session of the same user: a logout in the table must not end the client's."""
    if role == "admin":
        return stack.login("admin", ADMIN_PASSWORD)
    return stack.login(api.username, api.password)


def test_every_role_on_every_endpoint(stack, clients):
    checked = 0
    for method, path, allowed in secured_operations(stack):
        for role, api in clients.items():
            if path.endswith("/auth/logout"):
                api = fresh_login(stack, role, api)
            status = api.request(method, path, json={}).status_code
            if role in allowed:
                assert status not in (401, 403), (role, method, path, status)
            else:
                assert status == 403, (role, method, path, status)
            checked += 1
        assert stack.anonymous().request(method, path, json={}).status_code == 401
    assert checked >= len(ROLES) * 12


@pytest.mark.parametrize("role, method, path, body, expected", [
    ("sales", "POST", "/api/v1/customers", {"name": "Sales Made", "industry": "TECH"}, 201),
    ("support", "POST", "/api/v1/customers", {"name": "Support Made", "industry": "TECH"}, 403),
    ("support", "GET", "/api/v1/customers", None, 200),
    ("sales", "DELETE", "/api/v1/customers/{id}", None, 403),
    ("support", "PATCH", "/api/v1/customers/{id}", {"grade": "A"}, 403),
    ("sales", "PATCH", "/api/v1/customers/{id}", {"grade": "A"}, 200),
    ("support", "GET", "/api/v1/customers/{id}/followups", None, 200),
    ("support", "POST", "/api/v1/customers/{id}/followups", {}, 403),
    ("sales", "GET", "/api/v1/users", None, 403),
    ("manager", "POST", "/api/v1/customers", {"name": "Manager Made", "industry": "TECH"}, 201),
    ("manager", "GET", "/api/v1/reports/summary", None, 200),
    ("support", "GET", "/api/v1/reports/summary", None, 403),
    ("manager", "DELETE", "/api/v1/customers/{id}", None, 403),
    ("manager", "GET", "/api/v1/users", None, 403),
    ("manager", "PATCH", "/api/v1/users/admin", {"role": "sales"}, 403),
    ("support", "GET", "/api/v1/users/me", None, 200),
    ("admin", "DELETE", "/api/v1/customers/{id}", None, 204),
])
def test_spec_section_6_roles(stack, clients, role, method, path, body, expected):
    target = stack.admin().post("/api/v1/customers", json={
        "name": f"Target {role} {method} {path}", "industry": "FIN"}).json()
    response = clients[role].request(method, path.format(id=target["id"]), json=body)
    assert response.status_code == expected, response.text
