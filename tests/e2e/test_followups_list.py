"""Follow-ups across customers (经理查看团队成员的客户跟进情况, issue 13): sales see their own,
a manager its team's, admins all; filters by owner, team, day range, outcome and channel;
paged like the other lists; a bad filter is 422."""
import uuid

import pytest

from tests.support.customers import customer_payload

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def people(stack):
    east, west = f"east-{uuid.uuid4().hex[:6]}", f"west-{uuid.uuid4().hex[:6]}"
    people = {"lina": stack.user("sales", team=east), "wang": stack.user("sales", team=east),
              "boss": stack.user("manager", team=east), "zhao": stack.user("sales", team=west),
              "support": stack.user("support", team=east), "admin": stack.admin()}
    for name, at, channel, outcome in [
            ("lina", "2026-10-05T09:00:00+08:00", "phone", "positive"),
            ("lina", "2026-10-20T15:00:00+08:00", "visit", "neutral"),
            ("wang", "2026-10-21T10:00:00+00:00", "email", "positive"),
            ("zhao", "2026-10-21T11:00:00+00:00", "phone", "positive")]:
        api = people[name]
        customer = api.post("/api/v1/customers", json=customer_payload()).json()
        logged = api.post(f"/api/v1/customers/{customer['id']}/followups", json={
            "at": at, "channel": channel, "subject": f"{name} {channel}", "outcome": outcome})
        assert logged.status_code == 201, logged.text
    people["teams"] = (east, west)
    return people


def listed(api, **query) -> list[str]:
    response = api.get("/api/v1/followups", params={"per_page": 200, **query})
    assert response.status_code == 200, response.text
    return [item["subject"] for item in response.json()["items"]]


def test_each_role_sees_its_own_its_teams_or_all(people):
    east, west = people["teams"]
    assert listed(people["lina"]) == ["lina visit", "lina phone"]  # newest first
    assert listed(people["lina"], owner=people["wang"].username) == []
    assert listed(people["support"]) == []
    assert listed(people["boss"]) == ["wang email", "lina visit", "lina phone"]
    assert listed(people["boss"], team=west) == []  # not its team
    assert listed(people["admin"], team=east) == ["wang email", "lina visit", "lina phone"]
    assert listed(people["admin"], team=west) == ["zhao phone"]


def test_filters_and_pages(people):
    east, _ = people["teams"]
    admin, boss = people["admin"], people["boss"]
    assert listed(boss, outcome="positive") == ["wang email", "lina phone"]
    assert listed(boss, channel="visit") == ["lina visit"]
    assert listed(boss, owner=people["lina"].username, outcome="neutral") == ["lina visit"]
    # UTC days: 2026-10-05T09:00+08:00 is 01:00 UTC on the 5th
    assert listed(admin, team=east, **{"from": "2026-10-05", "to": "2026-10-20"}) == [
        "lina visit", "lina phone"]
    assert listed(admin, team=east, **{"from": "2026-10-21"}) == ["wang email"]
    page = boss.get("/api/v1/followups", params={"per_page": 2, "page": 2}).json()
    assert (page["total"], page["page"], page["per_page"]) == (3, 2, 2)
    assert [item["subject"] for item in page["items"]] == ["lina phone"]


@pytest.mark.parametrize("query, field", [
    ({"outcome": "great"}, "outcome"), ({"channel": "fax"}, "channel"),
    ({"from": "2026-10-21", "to": "2026-10-01"}, "from"), ({"from": "yesterday"}, "from"),
    ({"per_page": 500}, "per_page"), ({"team": "no-such-team"}, "team"),
    ({"colour": "red"}, "colour")])
def test_bad_filters_are_422_naming_the_field(people, query, field):
    response = people["boss"].get("/api/v1/followups", params=query)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["details"]["fields"]
