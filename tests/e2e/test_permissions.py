"""Every role against every route of the gateway: allowed roles get past authorisation, the
others get 403, and nobody gets in without a token. The routes come from the Flask URL map,
not from what endpoints declare, so a route that loses its permission fails here."""
import re
import uuid

import pytest
from flask import Flask

from gateway.app import register_routes
from gateway.permissions import PERMISSIONS
from tests.support.customers import customer_payload
from tests.support.stack import ADMIN_PASSWORD

pytestmark = pytest.mark.e2e

ROLES = ("admin", "manager", "sales", "support")


# The only routes open without a token.
PUBLIC = {("POST", "/api/v1/auth/login"), ("GET", "/api/v1/openapi.json"), ("GET", "/healthz"),
          ("GET", "/readyz"), ("GET", "/static/<path:filename>"),
          # the OpenAPI document as a page: Swagger UI and its files
          ("GET", "/api/docs"), ("GET", "/api/docs/start.js"), ("GET", "/api/docs/<name>"),
          # the customer answers the emailed survey without an account (token, rate limit)
          ("GET", "/api/v1/surveys/<token>"), ("POST", "/api/v1/surveys/<token>")}


def routes() -> list[tuple[str, str, str | None]]:
    """(method, rule, declared permission) of every route the gateway serves."""
    app = Flask("gateway")
    register_routes(app)
    found = []
    for rule in app.url_map.iter_rules():
        doc = getattr(app.view_functions[rule.endpoint], "doc", None)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, doc.permission if doc else None))
    return found


def secured_operations():
    for method, rule, permission in routes():
        if (method, rule) in PUBLIC:
            continue
        assert permission is not None, f"{method} {rule} is open to anyone"
        yield method, re.sub(r"<[^>]+>", "2026-TECH-000", rule), PERMISSIONS[permission]


def test_only_the_public_routes_are_open():
    assert {(method, rule) for method, rule, permission in routes()
            if permission is None} == PUBLIC


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
    for method, path, allowed in secured_operations():
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
    assert checked == len(ROLES) * (len(routes()) - len(PUBLIC))


@pytest.mark.parametrize("role, method, path, body, expected", [
    ("sales", "POST", "/api/v1/customers", customer_payload(name="Sales Made"), 201),
    ("support", "POST", "/api/v1/customers", customer_payload(name="Support Made"), 403),
    ("support", "GET", "/api/v1/customers", None, 200),
    ("sales", "DELETE", "/api/v1/customers/{id}", None, 403),
    ("support", "PATCH", "/api/v1/customers/{id}", {"grade": "A"}, 403),
    ("sales", "PATCH", "/api/v1/customers/{id}", {"grade": "A"}, 403),  # not its customer
    ("support", "GET", "/api/v1/customers/{id}/followups", None, 200),
    ("support", "POST", "/api/v1/customers/{id}/followups", {}, 403),
    ("sales", "GET", "/api/v1/users", None, 403),
    ("manager", "POST", "/api/v1/customers", customer_payload(name="Manager Made"), 201),
    ("manager", "GET", "/api/v1/reports/summary", None, 200),
    ("support", "GET", "/api/v1/reports/summary", None, 403),
    ("manager", "DELETE", "/api/v1/customers/{id}", None, 403),
    ("manager", "GET", "/api/v1/users", None, 403),
    ("manager", "PATCH", "/api/v1/users/admin", {"role": "sales"}, 403),
    ("support", "GET", "/api/v1/users/me", None, 200),
    ("admin", "DELETE", "/api/v1/customers/{id}", None, 204),
])
def test_spec_section_6_roles(stack, clients, role, method, path, body, expected):
    target = stack.admin().post("/api/v1/customers", json=customer_payload(
        name=f"Target {role} {method} {path}", industry="FIN")).json()
    response = clients[role].request(method, path.format(id=target["id"]), json=body)
    assert response.status_code == expected, response.text


# --- ownership (issue 8): sales change their own customers, a manager its team's, an admin
# any; everyone with read permission reads; tickets stay shared work.

@pytest.fixture(scope="module")
def team(stack):
    east, west = f"east-{uuid.uuid4().hex[:6]}", f"west-{uuid.uuid4().hex[:6]}"
    return {"admin": stack.admin(),
            "member": stack.user("sales", team=east), "mate": stack.user("sales", team=east),
            "manager": stack.user("manager", team=east),
            "support": stack.user("support", team=east),
            "outsider": stack.user("sales", team=west),
            "other_manager": stack.user("manager", team=west)}


def followup():
    return {"at": "2026-11-24T10:30:00+08:00", "channel": "phone", "subject": "Call",
            "outcome": "neutral"}


@pytest.mark.parametrize("actor, method, path, body, expected, code", [
    ("member", "PATCH", "", {"grade": "A"}, 200, None),
    ("mate", "PATCH", "", {"grade": "A"}, 403, "not_owner"),
    ("outsider", "PATCH", "", {"grade": "A"}, 403, "not_owner"),
    ("manager", "PATCH", "", {"grade": "A"}, 200, None),
    ("other_manager", "PATCH", "", {"grade": "A"}, 403, "not_owner"),
    ("support", "PATCH", "", {"grade": "A"}, 403, "forbidden"),
    ("admin", "PATCH", "", {"grade": "A"}, 200, None),
    ("member", "POST", "/followups", followup(), 201, None),
    ("mate", "POST", "/followups", followup(), 403, "not_owner"),
    ("manager", "POST", "/followups", followup(), 201, None),
    ("other_manager", "POST", "/followups", followup(), 403, "not_owner"),
    ("admin", "POST", "/followups", followup(), 201, None),
    ("outsider", "GET", "", None, 200, None),
    ("support", "GET", "/followups", None, 200, None),
    ("other_manager", "GET", "/history", None, 200, None),
    # changing the owner: a manager within its team, or an admin
    ("member", "PATCH", "", {"owner": "{mate}"}, 403, "not_owner"),
    ("manager", "PATCH", "", {"owner": "{mate}"}, 200, None),
    ("manager", "PATCH", "", {"owner": "{outsider}"}, 403, "not_owner"),
    ("other_manager", "PATCH", "", {"owner": "{outsider}"}, 403, "not_owner"),
    ("admin", "PATCH", "", {"owner": "{outsider}"}, 200, None),
])
def test_ownership(stack, team, actor, method, path, body, expected, code):
    customer = team["member"].post("/api/v1/customers", json=customer_payload()).json()
    assert customer["owner"] == team["member"].username
    if body and "owner" in body:
        body = {"owner": getattr(team[body["owner"].strip("{}")], "username", "admin")}
    response = team[actor].request(method, f"/api/v1/customers/{customer['id']}{path}",
                                   json=body)
    assert response.status_code == expected, response.text
    if code:
        assert response.json()["error"]["code"] == code
    if body and "owner" in body and expected == 200:
        assert response.json()["owner"] == body["owner"]


def test_a_new_customer_goes_to_another_owner_only_through_a_manager_or_an_admin(team):
    def create(actor, owner):
        return team[actor].post("/api/v1/customers", json=customer_payload(
            owner=team[owner].username))

    assert create("member", "member").status_code == 201
    assert create("member", "mate").json()["error"]["code"] == "not_owner"
    assert create("manager", "mate").status_code == 201
    assert create("manager", "outsider").status_code == 403
    assert create("admin", "outsider").status_code == 201


def test_tickets_stay_shared_work(team):
    customer = team["member"].post("/api/v1/customers", json=customer_payload()).json()
    ticket = team["outsider"].post("/api/v1/tickets", json={
        "customer_id": customer["id"], "service_type": "aftersales", "category": "inquiry",
        "priority": "low", "title": "Question"})
    assert ticket.status_code == 201, ticket.text
    for actor in ("mate", "support", "other_manager"):
        changed = team[actor].patch(f"/api/v1/tickets/{ticket.json()['id']}",
                                    json={"title": f"Changed by {actor}"})
        assert changed.status_code == 200, changed.text
