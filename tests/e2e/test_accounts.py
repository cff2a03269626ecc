"""Accounts through the real gateway: teams, the manager role, user changes and the
``user.*`` events other services keep their view of users from."""
import uuid

import pytest

from tests.support.commands import listening
from tests.support.customers import customer_payload
from tests.support.stack import ADMIN_PASSWORD, Api
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
    created = manager.post("/api/v1/customers", json=customer_payload())
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


# --- passwords and sessions -------------------------------------------------------------

def first_login(stack, role: str = "sales"):
    """A new admin-made user's first session: (client, username, initial password)."""
    user = new_user(stack, role)
    answer = stack.anonymous().post("/api/v1/auth/login", json={
        "username": user["username"], "password": "Passw0rd!x"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "role",
                         "must_change_password"}
    assert body["must_change_password"] is True and body["role"] == role
    return Api(stack.base_url, body["access_token"]), user["username"], "Passw0rd!x"


def test_first_login_allows_nothing_but_the_password_change(stack):
    api, username, initial = first_login(stack)
    for method, path in [("GET", "/api/v1/customers"), ("GET", "/api/v1/users/me"),
                         ("GET", "/api/v1/notifications"), ("POST", "/api/v1/tickets")]:
        refused = api.request(method, path, json={})
        assert refused.status_code == 403, (method, path)
        assert refused.json()["error"]["code"] == "password_change_required"

    for body, field in [({"current_password": initial, "new_password": initial}, "new_password"),
                        ({"current_password": initial, "new_password": "weakpass"}, "new_password"),
                        ({"current_password": "Wrong#123", "new_password": "Better#2026"},
                         "current_password")]:
        refused = api.post("/api/v1/auth/password", json=body)
        assert refused.status_code == 422, refused.text
        assert field in refused.json()["error"]["details"]["fields"]

    changed = api.post("/api/v1/auth/password", json={"current_password": initial,
                                                      "new_password": "Better#2026"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["must_change_password"] is False
    assert api.get("/api/v1/customers").status_code == 401  # the token before the change
    fresh = Api(stack.base_url, changed.json()["access_token"])
    assert fresh.get("/api/v1/users/me").json()["must_change_password"] is False
    assert fresh.get("/api/v1/customers").status_code == 200
    assert stack.login(username, "Better#2026").get("/api/v1/customers").status_code == 200
    assert stack.anonymous().post("/api/v1/auth/login", json={
        "username": username, "password": initial}).status_code == 401


def test_a_password_change_ends_every_other_session(stack):
    user = stack.user("support")
    other_session = stack.login(user.username, user.password)
    changed = user.post("/api/v1/auth/password", json={"current_password": user.password,
                                                       "new_password": "Another#2026"})
    assert changed.status_code == 200
    assert other_session.get("/api/v1/tickets").status_code == 401
    assert user.get("/api/v1/tickets").status_code == 401


def test_logout_ends_only_that_session(stack):
    user = stack.user("sales")
    other_session = stack.login(user.username, user.password)
    assert user.post("/api/v1/auth/logout").status_code == 204
    ended = user.get("/api/v1/customers")
    assert ended.status_code == 401 and ended.json()["error"]["code"] == "unauthorized"
    assert other_session.get("/api/v1/customers").status_code == 200


def test_a_user_who_must_change_its_password_may_log_out(stack):
    api, _, _ = first_login(stack)
    assert api.post("/api/v1/auth/logout").status_code == 204
    assert api.post("/api/v1/auth/password", json={}).status_code == 401


@pytest.mark.parametrize("change", [{"active": False}, {"role": "support"}])
def test_deactivation_or_a_role_change_ends_the_sessions_at_once(stack, change):
    user = stack.user("sales")
    assert user.get("/api/v1/customers").status_code == 200
    assert stack.admin().patch(f"/api/v1/users/{user.username}", json=change).status_code == 200
    assert user.get("/api/v1/customers").status_code == 401
    login = stack.anonymous().post("/api/v1/auth/login", json={
        "username": user.username, "password": user.password})
    if change == {"active": False}:
        assert login.status_code == 401
    else:
        assert login.status_code == 200 and login.json()["role"] == "support"


@pytest.mark.parametrize("change", [{"active": False}, {"role": "sales"}, None])
def test_an_admin_cannot_lock_themselves_out(stack, change):
    """Demoting or deactivating oneself, or resetting one's own password, is refused: the
    last admin could otherwise end every admin session there is."""
    admin = stack.user("admin")
    if change is None:
        refused = admin.post(f"/api/v1/users/{admin.username}/reset-password")
    else:
        refused = admin.patch(f"/api/v1/users/{admin.username}", json=change)
    assert refused.status_code == 409, refused.text
    assert admin.get("/api/v1/users/me").json()["role"] == "admin"
    assert admin.patch(f"/api/v1/users/{admin.username}",
                       json={"display_name": "Still me"}).status_code == 200


def test_other_changes_keep_the_sessions(stack):
    user = stack.user("sales")
    assert stack.admin().patch(f"/api/v1/users/{user.username}",
                               json={"display_name": "Li Na", "team": "east"}).status_code == 200
    assert user.get("/api/v1/customers").status_code == 200


def test_an_admin_reset_gives_a_one_time_password_to_change(stack):
    user = stack.user("support")
    reset = stack.admin().post(f"/api/v1/users/{user.username}/reset-password")
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    assert reset.json()["username"] == user.username
    assert user.get("/api/v1/tickets").status_code == 401  # its sessions ended
    assert stack.anonymous().post("/api/v1/auth/login", json={
        "username": user.username, "password": user.password}).status_code == 401
    api = stack.anonymous().post("/api/v1/auth/login", json={
        "username": user.username, "password": temporary}).json()
    assert api["must_change_password"] is True
    client = Api(stack.base_url, api["access_token"])
    assert client.get("/api/v1/tickets").json()["error"]["code"] == "password_change_required"
    assert client.post("/api/v1/auth/password", json={
        "current_password": temporary, "new_password": "Mine#2026x"}).status_code == 200
    assert stack.admin().post("/api/v1/users/nobody/reset-password").status_code == 404


def test_the_admin_from_admin_password_is_not_asked_to_change_it(stack):
    answer = stack.anonymous().post("/api/v1/auth/login", json={
        "username": "admin", "password": ADMIN_PASSWORD}).json()
    assert answer["must_change_password"] is False
