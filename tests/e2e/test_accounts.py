"""Accounts through the real gateway: teams, the manager role, user changes and the
``user.*`` events other services keep their view of users from."""
import uuid

import pytest

from tests.support.commands import listening
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e


def new_user(stack, role: str, **fields) -> dict:
    username = f"{role}-{uuid.uuid4().hex[:6]}"
    response = stack.admin().post("/api/v1/users", json={
        "username": username, "password": "Passw0rd!x", "role": role, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_user_has_an_optional_team_and_sees_itself(stack):
    manager = stack.user("manager")
    me = manager.get("/api/v1/users/me").json()
    assert me["username"] == manager.username and me["role"] == "manager"
    assert me["team"] is None and "password_hash" not in me

    changed = stack.admin().patch(f"/api/v1/users/{manager.username}",
                                  json={"team": "华东销售", "display_name": "Zhao Lei"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["team"] == "华东销售"
    assert manager.get("/api/v1/users/me").json()["team"] == "华东销售"
    # the team and its members travel in the RPC context to the services
    created = manager.post("/api/v1/customers", json={"name": f"Team {uuid.uuid4().hex[:6]}",
                                                      "industry": "TECH"})
    assert created.status_code == 201 and created.json()["owner"] == manager.username


@pytest.mark.parametrize("body, field", [
    ({"role": "boss"}, "role"), ({"team": " padded"}, "team"), ({"active": "maybe"}, "active"),
    ({"email": "not-an-email"}, "email"), ({"password": "Secret#123"}, "password"),
])
def test_bad_user_changes_are_422_naming_the_field(stack, body, field):
    user = new_user(stack, "sales")
    response = stack.admin().patch(f"/api/v1/users/{user['username']}", json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["details"]["fields"]


def test_changing_an_unknown_user_is_404(stack):
    response = stack.admin().patch("/api/v1/users/nobody-here", json={"team": "east"})
    assert response.status_code == 404
    assert response.json()["error"]["details"] == {"username": "nobody-here"}


def test_me_is_not_a_username(stack):
    response = stack.admin().post("/api/v1/users", json={
        "username": "me", "password": "Passw0rd!x", "role": "sales"})
    assert response.status_code == 422
    assert "username" in response.json()["error"]["details"]["fields"]


def test_user_events_carry_role_team_email_and_active(stack):
    with listening(stack.amqp_uri, "gateway", "user.created", "user.updated") as received:
        user = new_user(stack, "sales", team="north", email="north@example.com")
        stack.admin().patch(f"/api/v1/users/{user['username']}",
                            json={"role": "manager", "team": "north"})
        events = {}
        wait_until(lambda: events.update({e["type"]: e for e in received()
                                          if e["data"]["user"]["username"] == user["username"]})
                   or len(events) == 2)
    created, updated = events["user.created"]["data"], events["user.updated"]["data"]
    assert created["user"] == {"username": user["username"], "display_name": None,
                               "email": "north@example.com", "role": "sales", "team": "north",
                               "active": True}
    assert updated["user"]["role"] == "manager" and updated["user"]["team"] == "north"
    assert updated["changes"] == [{"field": "role", "before": "sales", "after": "manager"}]
