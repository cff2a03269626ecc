"""No silent overwrites: GET gives an ETag, and a change sent with If-Match is refused with
412 when someone changed the record since; without If-Match the last write wins."""
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.customers import customer_payload

pytestmark = pytest.mark.e2e


def new_customer(api, name):
    response = api.post("/api/v1/customers", json=customer_payload(name=name, industry="MFG"))
    assert response.status_code == 201, response.text
    return response.json()


def test_a_customer_changed_since_it_was_read_is_412_stale(stack):
    api = stack.admin()
    path = f"/api/v1/customers/{new_customer(api, 'Etag Works')['id']}"
    read = api.get(path)
    etag = read.headers["ETag"]
    assert etag == f'"{read.json()["version"]}"'
    first = api.patch(path, json={"grade": "A"}, headers={"If-Match": etag})
    assert first.status_code == 200
    assert first.headers["ETag"] != etag
    stale = api.patch(path, json={"grade": "B"}, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "stale"
    assert int(stale.json()["error"]["details"]["current_version"]) == first.json()["version"]
    assert api.get(path).json()["grade"] == "A"  # the refused change changed nothing
    # with the new ETag it goes through; without If-Match the last write wins
    assert api.patch(path, json={"grade": "B"},
                     headers={"If-Match": first.headers["ETag"]}).status_code == 200
    assert api.patch(path, json={"grade": "C"}).status_code == 200
    assert api.get(path).json()["grade"] == "C"


def test_two_agents_moving_the_same_ticket_one_wins_the_other_is_told(stack):
    api = stack.admin()
    customer = new_customer(api, "Two Agents Co")
    ticket = api.post("/api/v1/tickets", json={
        "customer_id": customer["id"], "service_type": "aftersales", "category": "inquiry",
        "title": "Printer"}).json()
    path = f"/api/v1/tickets/{ticket['id']}"
    etag = api.get(path).headers["ETag"]

    def move(body):
        return stack.admin().post(f"{path}/transitions", json=body, headers={"If-Match": etag})

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(move, [{"to": "in_progress", "note": "mine"},
                                       {"to": "in_progress", "note": "no, mine"}]))
    assert sorted(answer.status_code for answer in answers) == [200, 412]
    history = api.get(f"{path}/history").json()
    moves = [entry for entry in history if entry["kind"] == "transition"]
    assert len(moves) == 2  # created (pending), then one move to in_progress
    now = api.get(path)
    assert now.json()["state"] == "in_progress"
    renamed = api.patch(path, json={"title": "Printer offline"}, headers={"If-Match": etag})
    assert renamed.status_code == 412
    assert api.patch(path, json={"title": "Printer offline"},
                     headers={"If-Match": now.headers["ETag"]}).status_code == 200


@pytest.mark.parametrize("header", ['"abc"', "3, 4"])
def test_a_malformed_if_match_is_400_naming_the_header(stack, header):
    api = stack.admin()
    path = f"/api/v1/customers/{new_customer(api, f'Bad Etag {len(header)}')['id']}"
    response = api.patch(path, json={"grade": "A"}, headers={"If-Match": header})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["header"] == "If-Match"
